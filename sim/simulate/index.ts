import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Rng } from './prng.js';
import { buildOrganisation, type Project } from './org.js';
import { allProjects, groupJson, projectJson, serverJson } from './gitlab.js';
import { LineWriter, RotatingAuditFile } from './sinks.js';
import { makeDevice, requestEntry, responseEntry, type Device, type VaultReq } from './vault.js';
import { defaultJobVault, NODES, Sim, type PipelineSpec, type SimEvent } from './sim.js';
import { developerSession, operatorSession } from './people.js';
import { planAnomalies, RAW_DEVICE, type Action } from './anomalies.js';
import { DAY_US, HOUR_US, MINUTE_US, SECOND_US, rfc3339Nano, cmpTime } from './time.js';
import { keytrailYaml, jwtRoles, DEVICE_NAMES } from './config.js';

export { DEVICE_NAMES };

export interface SimulateOptions {
  outDir: string;
  seed?: number;
  days?: number;
  projects?: number;
  jobsPerDay?: number;
  /** Approximate total audit lines across devices; overrides jobsPerDay. */
  scale?: number;
  anomalies?: 'all' | 'none';
}

export interface SimulateResult {
  outDir: string;
  seed: number;
  days: number;
  /** Distinct Vault requests written. */
  requests: number;
  /** Audit lines written over every device and node (torn copies included). */
  lines: number;
  tornLines: number;
  pipelines: number;
  jobs: number;
  jobsPerDay: number;
  anomalies: { rule: string; count: number }[];
  auditFiles: string[];
  gitlabToken: string;
}

/** The simulated period starts on a fixed Monday, whatever the wall clock says. */
export const SIM_START = Date.UTC(2026, 2, 2) * 1000;
/** Measured average audit lines per job (both devices, request + response), used by --scale. */
const LINES_PER_JOB = 8;
const HUMAN_LINES_PER_WEEKDAY = 120;

const PIPELINE_KINDS: [string, number][] = [
  ['push-feature', 0.35], ['push-main', 0.15], ['mr', 0.3], ['fork-mr', 0.03], ['tag', 0.05], ['web', 0.05], ['api', 0.07],
];
const KIND_JOBS: Record<string, number> = { 'push-feature': 4, 'push-main': 7, mr: 3, 'fork-mr': 2, tag: 2, web: 2, api: 1 };

/**
 * Jobs per weekday that give about `lines` audit lines: weekends run the nightly schedules and 15% of the
 * weekday load; people add a roughly fixed number of lines per weekday.
 */
function jobsPerDayForScale(lines: number, days: number, nProjects: number): number {
  let weekdays = 0;
  for (let d = 0; d < days; d++) {
    const wd = new Date(SIM_START / 1000 + d * 86_400_000).getUTCDay();
    if (wd !== 0 && wd !== 6) weekdays++;
  }
  const weekend = days - weekdays;
  const nightly = nProjects * 2;
  const jobs = Math.max(0, lines - weekdays * HUMAN_LINES_PER_WEEKDAY) / LINES_PER_JOB;
  return Math.max(nightly + 1, Math.round((jobs - weekend * 0.85 * nightly) / (weekdays + 0.15 * weekend)));
}

/** Writes a whole simulated organisation into `outDir` (see CONTRACT.md `simulate`). */
export async function simulate(opts: SimulateOptions): Promise<SimulateResult> {
  const seed = opts.seed ?? 1;
  const days = Math.max(1, opts.days ?? 7);
  const nProjects = Math.max(2, opts.projects ?? 8);
  const anomaliesOn = (opts.anomalies ?? 'all') === 'all';
  const jobsPerDay = opts.scale ? jobsPerDayForScale(opts.scale, days, nProjects) : Math.max(1, opts.jobsPerDay ?? 60);
  const out = opts.outDir;
  rmSync(join(out, 'gitlab'), { recursive: true, force: true });
  rmSync(join(out, 'vault'), { recursive: true, force: true });
  rmSync(join(out, 'vault-config'), { recursive: true, force: true });
  mkdirSync(join(out, 'gitlab'), { recursive: true });

  const org = buildOrganisation(seed, nProjects, SIM_START);
  const salt = (name: string) => createHash('sha256').update(`keytrail-sim/${seed}/salt/${name}`).digest();
  const devices = {
    file: makeDevice('file-audit', salt('file-audit')),
    socket: makeDevice('socket-audit', salt('socket-audit')),
    raw: makeDevice(RAW_DEVICE, salt(RAW_DEVICE), true),
  };
  const gitlabToken = `glpat-${new Rng(seed, 'token').base62(20)}`;
  writeFileSync(join(out, 'gitlab', 'server.json'), `${JSON.stringify(serverJson(gitlabToken), null, 2)}\n`);
  writeFileSync(join(out, 'gitlab', 'groups.json'), `${JSON.stringify(org.groups.map(groupJson), null, 2)}\n`);

  const pipelineOut = new LineWriter(join(out, 'gitlab', 'pipelines.ndjson'));
  const jobOut = new LineWriter(join(out, 'gitlab', 'jobs.ndjson'));
  const sim = new Sim(seed, org, days, devices, pipelineOut, jobOut);
  const actions: Action[] = anomaliesOn ? planAnomalies(sim) : [];
  actions.sort((a, b) => a.us - b.us);

  // The HA failover: node 1 loses leadership, node 2 takes over, then hands back.
  const fo = sim.failover;
  sim.serverLog(fo.from - 1_500_000, '[WARN]  core: leadership lost, stopping active operation', NODES[0]);
  sim.serverLog(fo.from - 1_000_000, '[INFO]  core: acquired lock, enabling active operation', NODES[1]);
  sim.serverLog(fo.to - 1_500_000, '[WARN]  core: leadership lost, stopping active operation', NODES[1]);
  sim.serverLog(fo.to - 1_000_000, '[INFO]  core: acquired lock, enabling active operation', NODES[0]);

  const gt = new LineWriter(join(out, 'ground-truth.json'));
  await gt.write(`{"seed":${seed},"requests":[`);
  const writer = new AuditWriter(sim, out, gt, anomaliesOn);

  for (let d = 0; d < days; d++) {
    const dayUs = SIM_START + d * DAY_US;
    const plan = planDay(sim, d, dayUs, jobsPerDay);
    const people = planPeople(sim, d, dayUs);
    for (let h = 0; h < 24; h++) {
      const sliceEnd = dayUs + (h + 1) * HOUR_US;
      while (plan.length && plan[0]!.createdUs < sliceEnd) await sim.runPipeline(plan.shift()!);
      while (people.length && people[0]!.us < sliceEnd) await people.shift()!.run();
      while (actions.length && actions[0]!.us < sliceEnd) await actions.shift()!.run();
      await writer.flush(sliceEnd);
    }
  }
  while (actions.length) await actions.shift()!.run();
  await writer.flush(Infinity);
  await writer.close();

  await gt.write(`],"anomalies":[`);
  for (const [i, a] of sim.anomalies.entries()) {
    await gt.write(`${i ? ',' : ''}${JSON.stringify({ rule: a.rule, request_ids: a.request_ids.slice(0, 100), job_id: a.job_id, note: a.note })}`);
  }
  await gt.write(']}\n');
  await gt.close();
  await pipelineOut.close();
  await jobOut.close();

  writeFileSync(join(out, 'gitlab', 'projects.json'), `${JSON.stringify(allProjects(org).map((p) => projectJson(p, sim.lastActivity.get(p.id) ?? p.createdUs)), null, 2)}\n`);
  writeFileSync(join(out, 'keytrail.yaml'), keytrailYaml(org, { rawDevice: anomaliesOn ? RAW_DEVICE : null }));
  // Outside vault/ so that ingesting a vault directory never picks it up as an audit file.
  mkdirSync(join(out, 'vault-config'), { recursive: true });
  writeFileSync(join(out, 'vault-config', 'jwt-roles.json'), `${JSON.stringify(jwtRoles(org), null, 2)}\n`);

  return {
    outDir: out, seed, days, requests: writer.requests, lines: writer.lines, tornLines: writer.torn, pipelines: sim.pipelines,
    jobs: sim.jobs, jobsPerDay,
    anomalies: sim.anomalies.map((a) => ({ rule: a.rule, count: a.request_ids.length })),
    auditFiles: writer.files(), gitlabToken,
  };
}

/** The day's pipelines: nightly schedules, then pushes/MRs/tags/manual/API runs weighted to working hours. */
function planDay(sim: Sim, d: number, dayUs: number, jobsPerDay: number): PipelineSpec[] {
  const r = sim.rngPlan;
  const org = sim.org;
  const weekday = new Date(dayUs / 1000).getUTCDay();
  const weekend = weekday === 0 || weekday === 6;
  const specs: PipelineSpec[] = [];
  const member = (p: Project) => r.pick(p.members.length ? p.members : org.developers);
  const nightlyJobs = org.projects.length * 2;
  for (const [i, p] of org.projects.entries()) {
    specs.push({
      project: p, ref: 'main', refClaim: 'main', refType: 'branch', refProtected: true, source: 'schedule', user: p.members[0] ?? org.developers[0]!,
      createdUs: dayUs + 2 * HOUR_US + i * 3 * MINUTE_US + r.int(0, 59) * SECOND_US, name: 'Nightly',
      stages: [['test', ['nightly-e2e', 'dependency-scan']]], vault: defaultJobVault,
    });
  }
  const budget = Math.max(0, jobsPerDay - nightlyJobs) * (weekend ? 0.15 : 1);
  const meanJobs = PIPELINE_KINDS.reduce((s, [k, w]) => s + w * KIND_JOBS[k]!, 0);
  const n = Math.round(budget / meanJobs);
  for (let k = 0; k < n; k++) {
    const kind = r.weighted(PIPELINE_KINDS);
    const p = r.pick(org.projects);
    const createdUs = dayUs + Math.round((kind === 'api' ? r.int(0, 23 * 60 + 59) * MINUTE_US : r.around(13.5, 4.5, 7.5, 20.5) * HOUR_US) + r.int(0, 59_999_999));
    const user = member(p);
    const branch = `feature/${user.username}-${r.int(100, 999)}`;
    const base = { project: p, createdUs, user, vault: defaultJobVault };
    const testStages: [string, string[]][] = [['build', ['build']], ['test', p.hasDb ? ['lint', 'unit-tests', 'integration-tests'] : ['lint', 'unit-tests']]];
    switch (kind) {
      case 'push-feature':
        specs.push({ ...base, ref: branch, refClaim: branch, refType: 'branch', refProtected: false, source: 'push', stages: testStages });
        break;
      case 'push-main': {
        const deploy = p.deploysFromMain ? ['deploy-staging', 'deploy-production'] : ['deploy-staging'];
        specs.push({ ...base, ref: 'main', refClaim: 'main', refType: 'branch', refProtected: true, source: 'push', stages: [...testStages, ['deploy', deploy]] });
        if (r.chance(0.35) || p.name === 'infra-terraform') {
          specs.push({ ...base, createdUs: createdUs + r.int(240, 600) * SECOND_US, ref: 'main', refClaim: 'main', refType: 'branch', refProtected: true, source: 'parent_pipeline', stages: [['plan', ['terraform-validate', 'terraform-plan']]] });
        }
        break;
      }
      case 'mr': {
        const iid = r.int(10, 900);
        specs.push({ ...base, ref: `refs/merge-requests/${iid}/head`, refClaim: branch, refType: 'branch', refProtected: false, source: 'merge_request_event', stages: [['build', ['build']], ['test', p.hasDb ? ['unit-tests', 'integration-tests'] : ['unit-tests']]] });
        break;
      }
      case 'fork-mr': {
        const parent = org.fork.fork!;
        const iid = r.int(10, 900);
        // Runs in the parent project; its claims would name the fork. No secrets are exposed to fork pipelines.
        specs.push({ ...base, project: parent, user: org.forker, ref: `refs/merge-requests/${iid}/head`, refClaim: `fix-${r.int(1, 99)}`, refType: 'branch', refProtected: false, source: 'merge_request_event', claimProject: org.fork, stages: [['build', ['build']], ['test', ['unit-tests']]], vault: () => undefined });
        break;
      }
      case 'tag': {
        const tag = `v${r.int(1, 3)}.${r.int(0, 30)}.${r.int(0, 9)}`;
        specs.push({ ...base, ref: tag, refClaim: tag, refType: 'tag', refProtected: true, tag: true, source: 'push', stages: [['build', ['build']], ['deploy', ['deploy-production']]] });
        break;
      }
      case 'web':
        specs.push({ ...base, ref: 'main', refClaim: 'main', refType: 'branch', refProtected: true, source: 'web', stages: [['build', ['build']], ['deploy', ['deploy-staging']]] });
        break;
      default:
        specs.push({ ...base, user: org.bot, ref: 'main', refClaim: 'main', refType: 'branch', refProtected: true, source: 'api', stages: [['test', ['smoke-tests']]] });
    }
  }
  void d;
  return specs.sort((a, b) => a.createdUs - b.createdUs);
}

/** People at work: developer and operator sessions in business hours on weekdays. */
function planPeople(sim: Sim, d: number, dayUs: number): Action[] {
  const r = sim.rngHuman;
  const weekday = new Date(dayUs / 1000).getUTCDay();
  if (weekday === 0 || weekday === 6) return [];
  const acts: Action[] = [];
  for (const u of sim.org.developers) {
    if (!r.chance(0.45)) continue;
    const us = dayUs + Math.round(r.around(12.5, 3, 8.5, 16) * HOUR_US);
    acts.push({ us, run: () => void developerSession(sim, u, us) });
  }
  for (const [i, u] of sim.org.operators.entries()) {
    const us = dayUs + Math.round(r.around(11 + i * 3, 2, 9, 16.5) * HOUR_US);
    const writePolicy = r.chance(0.3);
    const createToken = r.chance(0.2);
    acts.push({ us, run: () => void operatorSession(sim, u, us, { writePolicy, createToken }) });
  }
  // Now and then a job's id_token has expired before the runner logs in: one failed login, no burst.
  if (r.chance(0.5)) {
    const p = r.pick(sim.org.projects);
    const us = dayUs + Math.round(r.around(13, 3, 9, 18) * HOUR_US);
    acts.push({ us, run: () => void sim.jwtLogin({ us, role: p.roles.ci, claims: {}, ip: '10.20.0.22', port: sim.port(), jobId: null, forceFail: 'error validating token: token is expired' }) });
  }
  void d;
  return acts.sort((a, b) => a.us - b.us);
}

interface LineItem {
  us: number;
  ns: number;
  seq: number;
  ev: SimEvent;
  response: boolean;
}

/** Writes queued events in time order to the audit files of the active node, the server logs and the ground truth. */
class AuditWriter {
  private readonly files_ = new Map<string, RotatingAuditFile>();
  private readonly serverLogs = new Map<string, LineWriter>();
  private readonly offsets: Map<Device, Rng>;
  private readonly rendered = new Map<VaultReq, Map<Device, string>>();
  private readonly tornRng: Rng;
  requests = 0;
  lines = 0;
  torn = 0;
  private firstGt = true;

  constructor(private readonly sim: Sim, private readonly out: string, private readonly gt: LineWriter, anomalies: boolean) {
    this.offsets = new Map([sim.devices.file, sim.devices.socket, sim.devices.raw].map((d) => [d, new Rng(sim.seed, `offset/${d.name}`)]));
    this.tornRng = new Rng(sim.seed, 'torn');
    const last = sim.days - 1;
    const all = Array.from({ length: sim.days }, (_, i) => i);
    const dayOf = (us: number) => Math.min(last, Math.floor((us - sim.startUs) / DAY_US));
    const fo = sim.failover;
    const node2Days = [...new Set([dayOf(fo.from), dayOf(fo.to)])];
    for (const dev of DEVICE_NAMES) {
      this.files_.set(`${NODES[0]}/${dev}`, new RotatingAuditFile(join(out, 'vault', NODES[0], dev), all, last));
      this.files_.set(`${NODES[1]}/${dev}`, new RotatingAuditFile(join(out, 'vault', NODES[1], dev), node2Days, last));
    }
    if (anomalies) {
      // The raw device's window is planned on node 1 (before any failover of that day).
      const rawDay = Math.min(last, 2 % sim.days);
      this.files_.set(`${NODES[0]}/${RAW_DEVICE}`, new RotatingAuditFile(join(out, 'vault', NODES[0], RAW_DEVICE), [rawDay], last));
    }
    for (const n of NODES) this.serverLogs.set(n, new LineWriter(join(out, 'vault', n, 'server.log')));
    this.dayOf = dayOf;
  }

  private readonly dayOf: (us: number) => number;

  files(): string[] {
    return [...this.files_.values()].flatMap((f) => f.files).map((f) => f.slice(this.out.length + 1)).sort();
  }

  private devicesFor(r: VaultReq, us: number): Device[] {
    const { file, socket, raw } = this.sim.devices;
    if (r.onlyDevice) return r.onlyDevice === raw.name ? [raw] : [file];
    const out = [file];
    const gap = this.sim.gap;
    if (!gap || us < gap.from || us >= gap.to) out.push(socket);
    const rw = this.sim.rawWindow;
    if (rw && us >= rw.from && us <= rw.to) out.push(raw);
    return out;
  }

  /** Writes every queued event earlier than `until`, in time order. */
  async flush(until: number): Promise<void> {
    const sim = this.sim;
    const ready: SimEvent[] = [];
    const keep: SimEvent[] = [];
    for (const e of sim.pending) (e.t.us < until ? ready : keep).push(e);
    sim.pending = keep;
    const items: LineItem[] = [];
    for (const ev of ready) {
      items.push({ us: ev.t.us, ns: ev.t.ns, seq: ev.seq * 2, ev, response: false });
      if (ev.req && !ev.req.requestOnly) items.push({ us: ev.t.us + ev.req.lat, ns: (ev.t.ns + 137) % 1000, seq: ev.seq * 2 + 1, ev, response: true });
    }
    items.sort((a, b) => a.us - b.us || a.ns - b.ns || a.seq - b.seq);
    for (const it of items) {
      if (it.ev.log) await this.writeLog(it.ev.t.us, it.ev.log.text, it.ev.log.node);
      else if (it.ev.req) await this.writeEntry(it.ev.req, it.response, { us: it.us, ns: it.ns });
    }
  }

  private async writeLog(us: number, text: string, node?: string): Promise<void> {
    const n = node ?? this.sim.activeNode(us);
    const ts = new Date(Math.floor(us / 1000)).toISOString();
    await this.serverLogs.get(n)!.write(`${ts} ${text}\n`);
  }

  private async writeEntry(r: VaultReq, response: boolean, t: { us: number; ns: number }): Promise<void> {
    const node = this.sim.activeNode(r.t.us);
    const devs = this.devicesFor(r, r.t.us);
    if (!response) {
      this.requests++;
      await this.gt.write(`${this.firstGt ? '' : ','}{"request_id":${JSON.stringify(r.id)},"job_id":${r.jobId === null ? 'null' : r.jobId}}`);
      this.firstGt = false;
      if (devs.length === 1 && devs[0] === this.sim.devices.file && this.sim.gap && r.t.us >= this.sim.gap.from && r.t.us < this.sim.gap.to && this.sim.gapRequests.length < 100) this.sim.gapRequests.push(r.id);
      if (devs.includes(this.sim.devices.raw) && r.token && this.sim.rawRequests.length < 100) this.sim.rawRequests.push(r.id);
    }
    for (const dev of devs) {
      const off = this.offsets.get(dev)!;
      const us = t.us + (dev === this.sim.devices.file ? 0 : off.int(3, 60));
      const ns = off.int(0, 9) === 0 ? 0 : off.int(0, 999);
      const entry = response ? responseEntry(dev, r) : requestEntry(dev, r);
      entry.time = rfc3339Nano(us, ns);
      entry.type = response ? 'response' : 'request';
      const line = JSON.stringify(entry);
      const file = this.files_.get(`${node}/${dev.name}`)!;
      const w = await file.writer(this.dayOf(r.t.us));
      // Vault's file sink re-writes a whole entry after a failed write: a torn prefix, then the full line.
      if (dev === this.sim.devices.file && (this.requests === 40 || this.tornRng.chance(1 / 5000)) && !response) {
        const cut = Math.max(10, Math.floor(line.length * (0.3 + this.tornRng.next() * 0.5)));
        await w.write(`${line.slice(0, cut)}\n`);
        this.torn++;
        this.lines++;
      }
      await w.write(`${line}\n`);
      this.lines++;
    }
    void this.rendered;
  }

  async close(): Promise<void> {
    for (const f of this.files_.values()) await f.close();
    for (const w of this.serverLogs.values()) await w.close();
  }
}

export { cmpTime, MINUTE_US };
