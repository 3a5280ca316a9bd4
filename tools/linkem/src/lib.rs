//! A userspace link emulator: two network namespaces joined through TUN devices.
