/**
 * The ferry CLI: parse, call one operation, print, exit. The exit-code table lives in
 * exit-codes.ts and README.md; this is the one place that turns errors into exit codes.
 */
import yargs, { type Argv } from 'yargs';
import { asFerryError, ErrorCodes, FerryError, usageError } from '../core/errors.js';
import type { OpContext } from '../node/context.js';
import type { CommandSpec, GlobalArgs } from './command.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { makeOutput, type Output, type Streams } from './output.js';
import { commands } from './commands/index.js';
import { visible } from '../core/visible-text.js';

/**
 * The node context, loaded only once a command runs: it reaches the key and identity code
 * (tweetnacl, the schemas), which `--help` and a mistyped command need not load.
 */
async function contextFor(g: GlobalArgs, out: Output): Promise<OpContext> {
  const [{ makeContext }, { envPassphrase, firstOf }, { terminalPassphrase }, { resolveHome }] = await Promise.all([
    import('../node/context.js'),
    import('../node/passphrase.js'),
    import('./prompt.js'),
    import('../store/home.js'),
  ]);
  return makeContext(resolveHome(g.home), {
    progress: out.progress,
    lockWaitMs: Math.max(0, g.wait ?? 0) * 1000,
    passphrase: firstOf(envPassphrase(), terminalPassphrase()),
  });
}

export async function main(argv: string[], streams: Streams = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  // `ferry … | head`: a closed pipe is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  const json = argv.includes('--json');
  let exit: number = ExitCode.OK;
  let ran = false;
  const fail = (err: unknown, command: string) => {
    const e = asFerryError(err);
    makeOutput(command, json, streams).error(e);
    if (e.kind === 'bug' && process.env.FERRY_DEBUG) streams.stderr.write(`${String((e.cause as Error)?.stack ?? '').split('\n').map(visible).join('\n')}\n`);
    exit = exitCodeFor(e.kind);
  };
  let parser: Argv = yargs(argv)
    .scriptName('ferry')
    .usage('$0 <command> [options]\n\nMove health data between sites with no network, on USB drives.')
    .option('home', { type: 'string', global: true, describe: 'node folder (default: $FERRY_HOME, else ~/.ferry)' })
    .option('json', { type: 'boolean', default: false, global: true, describe: 'print one JSON document on stdout' })
    .option('wait', { type: 'number', default: 0, global: true, describe: 'seconds to wait for another ferry working on the same node (else exit 4)' })
    .strict()
    .demandCommand(1, 'name a command; `ferry --help` lists them')
    .recommendCommands()
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((msg, err) => {
      // yargs breaks some messages over lines ("Invalid values:\n  Argument: …"): one line, so it
      // reads as one sentence rather than with a visible \n.
      throw err ?? usageError(ErrorCodes.USAGE, msg.replace(/\s*\n\s*/g, ' '), { hint: 'see `ferry --help` or `ferry COMMAND --help`' });
    })
    .epilogue('exit codes: 0 ok, 1 some items refused, 2 usage/configuration, 3 failed (nothing changed), 4 busy, 70 bug, 130 interrupted');
  for (const spec of commands as CommandSpec<Record<string, unknown>>[]) {
    const name = spec.command.split(' ')[0]!;
    parser = parser.command({
      command: spec.command,
      describe: spec.describe,
      builder: (y: Argv) => (spec.builder ? spec.builder(y) : y),
      handler: async (args: Record<string, unknown>) => {
        ran = true;
        const g = args as unknown as GlobalArgs;
        const out = makeOutput(name, json, streams);
        try {
          const ctx = await contextFor(g, out);
          const code = await spec.run(args as Record<string, unknown> & GlobalArgs, ctx, out);
          out.done();
          exit = code ?? ExitCode.OK;
        } catch (err) {
          out.done();
          fail(err, name);
        }
      },
    });
  }
  try {
    await parser.parseAsync();
  } catch (err) {
    if (!ran) fail(err instanceof FerryError ? err : usageError(ErrorCodes.USAGE, (err as Error).message, { hint: 'see `ferry --help`' }), argv[0] ?? 'ferry');
  }
  process.exitCode = exit;
  return exit;
}
