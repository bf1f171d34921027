/**
 * `node dist/sim/fake-gitlab/serve.js --state DIR [--port N] [--latency MS]`: serves a state directory
 * (the simulator's output or its gitlab/ folder) and prints the URL on stdout. Stops on SIGINT/SIGTERM.
 */
import { startFakeGitlab } from './server.js';

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: node dist/sim/fake-gitlab/serve.js --state DIR [--port N] [--latency MS]\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let stateDir: string | undefined;
  let port = 0;
  let latencyMs = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => args[++i] ?? usage(`${a} needs a value`);
    if (a === '--state') stateDir = value();
    else if (a === '--port') port = Number(value());
    else if (a === '--latency') latencyMs = Number(value());
    else usage(`unknown argument ${a}`);
  }
  if (!stateDir) usage('--state DIR is required');
  if (!Number.isInteger(port) || port < 0 || port > 65535) usage('--port must be 0..65535');
  const server = await startFakeGitlab({ stateDir, port, latencyMs });
  process.stdout.write(`${server.url}\n`);
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`fake-gitlab: ${(err as Error).message}\n`);
  process.exit(1);
});
