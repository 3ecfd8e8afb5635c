import { DEFAULT_MOUNT_ROOTS } from '../../drive/mount-roots.js';
import { ErrorCodes, usageError } from '../../core/errors.js';
import { defineCommand } from '../command.js';
import type { ExitCodeValue } from '../exit-codes.js';

export default defineCommand<{ mountRoot?: string[] }>({
  command: 'tui',
  describe: 'the terminal UI for IT officers: dashboard, export, import, conflicts, peers, log',
  builder: (y) => y.option('mount-root', { type: 'string', array: true, describe: `where drives appear (default: ${DEFAULT_MOUNT_ROOTS.join(', ')})` }),
  async run(a, ctx) {
    if (!process.stdin.isTTY) throw usageError(ErrorCodes.USAGE, 'the terminal UI needs a terminal', { hint: 'use the ferry commands (status, export, import …) in scripts' });
    const { readConfig } = await import('../../store/home.js');
    const { unlockOnce } = await import('../../node/node-session.js');
    readConfig(ctx.home); // a clear error before the screen opens
    // Unlock once, before the screen opens: a wrong passphrase is said here, on the plain terminal.
    const typed = await unlockOnce(ctx);
    // ink renders only the final frame when it believes it runs in CI (a CI variable in the
    // environment, read when ink loads); on a real terminal the screen must be live.
    if (process.env.CI && process.stdout.isTTY) process.env.CI = 'false';
    // ink is ESM with top-level await: load it only for this command.
    const { renderTui } = await import('../../tui/render.js');
    const { realServices } = await import('../../tui/services.js');
    return (await renderTui(realServices(ctx.home, a.mountRoot?.length ? a.mountRoot : DEFAULT_MOUNT_ROOTS, typed))) as ExitCodeValue;
  },
});
