// SSH public key lines made once with ssh-keygen, for tests of delivery
// profiles (the private halves were thrown away). C++14 and up: FIX tests
// include it too.
#pragma once

namespace gpux::test {

const char* const kEd25519Keys[] = {
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFqoAR8Geg2a741czbob7K8rVkthRd6yO1OpAyHRV5sf k1@test",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFzJ0WfhBEx4B2/7dBD2P4G8gmLgLMNFm/srTxTFuBw+ k2@test",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAgiKCaKlos7NtdGM5Xnc0x4x1zD77/sp277fWvHeuuU k3@test",
};

// RSA: 3072 bits, accepted; 1024 bits, too weak.
const char* const kRsaKey =
    "ssh-rsa "
    "AAAAB3NzaC1yc2EAAAADAQABAAABgQCmpiH/"
    "lTBMBZXHaIonUrozPdWK72U5DwbRPZ6L47sX6GVsyORJcBhwQpS6PNGOY9m9ukKQCpuS90Wm2H/"
    "EV+"
    "u7JOOqOqF9OAP3vLR13Aee7EPcVhuwZdCsAlxTUdHTKhuikmQfHYiJJ9iutVFB4sFweiODMp0CJEArMc3jnHvosNhRiHAA"
    "zOTuMS+2wOIR0xrEK91n6uz2UPK89T0nilhqjWFiQL3MwUlWWKNZw3xTQZdGiJlDaoJKox4d5spsCAbRLF/"
    "DKJYyk20nxEKfKJV6RaZFt0+bozVOg5AYhkznLAsWsOp1g6i+CdcgBU7sk7NBoKlG1jeUaD8l+"
    "dj24tAM2q5cUOVE1XTnNakFu+WfTi1Raiu4iL7tAmxYmskvq4OFgPPeqU+qiN/"
    "SIfBo7AqX0hzHpmBUQxjwfrJDxmQd4kk69z1fdLSK05Vx9wFZ0vsVGd4XRF4O9V+qcFNIK42e9B+"
    "DEUklhTzklLIMK7vQR320T10pFZnYgFCm4M3V8Qs= rsa@test";
const char* const kWeakRsaKey =
    "ssh-rsa "
    "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDE4z1ZXccwN6+L5CNjwQ/zub8bfM670aihoXsEfluQ5Nco5j/"
    "Pgkx6GpVyG4GGpPCOYYLej+v4RnJrhlkUNvamiNCp9zd/"
    "AYz5mXYE9zYn6xv+kHsH+xsEY6wg56Wb2ltoukUyeeThKPVA03pd5Ow+sOVLxKAXXo6ZX9o97mA3cQ== weak@test";

}  // namespace gpux::test
