/**
 * Where removable drives appear on the Linux systems ferry runs on. A module of its own, light
 * to load: the CLI's help text names these roots without loading the import machinery.
 */
export const DEFAULT_MOUNT_ROOTS = ['/media', '/run/media', '/mnt'];
