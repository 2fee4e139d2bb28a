import * as path from 'node:path';

/**
 * The instance boot script, beside this module: lib/boot/boot.sh in the
 * sources and dist/lib/boot/boot.sh in the built package (the build copies it
 * there), so the fleet's asset, the local boot and the server-argument helper
 * read the same file wherever the kit runs or is installed.
 */
export const BOOT_SCRIPT = path.join(__dirname, 'boot.sh');
