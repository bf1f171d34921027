import type { Logger } from '../logger.js';

/** One step of the nightly run and what became of it. */
export interface StepResult {
  name: string;
  status: 'ok' | 'failed' | 'skipped';
  summary: Record<string, unknown>;
}

export interface Step {
  name: string;
  /** Steps whose failure makes this one pointless (it is then skipped, and says why). */
  dependsOn?: string[];
  /** Returns the step's summary; `null` means there was nothing to do (status skipped). */
  run(): Promise<Record<string, unknown> | null>;
}

/**
 * Runs steps in order. A failing step is reported and the later steps that do not depend on it still run;
 * a step whose dependency failed is skipped. Each step's summary is logged as it ends.
 */
export async function runSteps(steps: Step[], logger: Logger): Promise<StepResult[]> {
  const results: StepResult[] = [];
  const failed = new Set<string>();
  for (const step of steps) {
    const blocker = step.dependsOn?.find((d) => failed.has(d));
    if (blocker) {
      failed.add(step.name);
      results.push({ name: step.name, status: 'skipped', summary: { reason: `${blocker} failed` } });
      logger.warn({ step: step.name, reason: `${blocker} failed` }, 'step skipped');
      continue;
    }
    const started = Date.now();
    try {
      const summary = await step.run();
      if (summary === null) {
        results.push({ name: step.name, status: 'skipped', summary: { reason: 'nothing configured or due' } });
        logger.info({ step: step.name }, 'step skipped: nothing configured or due');
      } else {
        results.push({ name: step.name, status: 'ok', summary });
        logger.info({ step: step.name, ms: Date.now() - started, ...summary }, 'step done');
      }
    } catch (err) {
      failed.add(step.name);
      const message = (err as Error)?.message ?? String(err);
      results.push({ name: step.name, status: 'failed', summary: { error: message } });
      logger.error({ step: step.name, error: message }, 'step failed');
    }
  }
  return results;
}
