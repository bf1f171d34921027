import { Rng, nameHex } from './prng.js';
import type { Mount } from './vault.js';

/** The simulated organisation: GitLab groups, projects, users and runners, and the Vault side that serves them. */

export const GITLAB_URL = 'https://gitlab.example.com';

export interface Group {
  id: number;
  name: string;
  path: string;
  full_path: string;
  parent_id: number | null;
  web_url: string;
}

export interface User {
  id: number;
  username: string;
  name: string;
  email: string;
  bot: boolean;
  createdUs: number;
}

export interface RunnerManager {
  id: number;
  system_id: string;
  ip: string | null;
  createdUs: number;
}

export interface Runner {
  id: number;
  description: string;
  hosting: 'self-hosted' | 'gitlab-hosted';
  runner_type: 'instance_type' | 'group_type' | 'project_type';
  managers: RunnerManager[];
  tags: string[];
  /** gitlab-hosted: requests come from this /24 (no manager address in GitLab). */
  cidr: string;
}

export interface VaultRole {
  name: string;
  claimMappings: boolean;
  userClaim: 'user_email' | 'user_login';
  tokenType: 'service' | 'batch';
  tokenTtl: number;
  policies: string[];
}

export interface Project {
  id: number;
  name: string;
  path: string;
  fullPath: string;
  namespace: { id: number; name: string; path: string; kind: 'group' | 'user'; full_path: string; parent_id: number | null };
  /** KV / database path segment. */
  slug: string;
  members: User[];
  fork?: Project;
  ciRunners: Runner[];
  deployRunner: Runner;
  hasDb: boolean;
  deploysFromMain: boolean;
  correlationHeader: boolean;
  roles: { ci: VaultRole; deploy: VaultRole };
  createdUs: number;
  pipelineIid: number;
}

export interface Organisation {
  groups: Group[];
  users: User[];
  developers: User[];
  operators: User[];
  bot: User;
  forker: User;
  runners: Runner[];
  projects: Project[];
  fork: Project;
  mounts: Record<'jwt' | 'oidc' | 'token' | 'kv' | 'database' | 'sys', Mount>;
  startUs: number;
}

const PROJECT_NAMES = [
  'payments-api', 'billing-worker', 'web-frontend', 'infra-terraform', 'auth-service', 'data-pipeline',
  'mobile-backend', 'search-indexer', 'notifications', 'reporting', 'inventory', 'checkout',
];
const PEOPLE: [string, string][] = [
  ['alice', 'Alice Martin'], ['bob', 'Bob Nguyen'], ['carol', 'Carol Schmidt'], ['dkim', 'Daniel Kim'],
  ['erin', 'Erin Walsh'], ['farid', 'Farid Haddad'], ['grace', 'Grace Okafor'], ['hugo', 'Hugo Lindqvist'],
  ['ines', 'Inès Moreau'], ['jonas', 'Jonas Becker'], ['kate', 'Kate Sullivan'], ['liam', "Liam O'Brien"],
];

/** Builds the organisation for `seed` with `nProjects` projects, created before `startUs`. */
export function buildOrganisation(seed: number, nProjects: number, startUs: number): Organisation {
  const rng = new Rng(seed, 'org');
  const before = (days: number) => startUs - days * 86_400_000_000 - rng.int(0, 86_399) * 1_000_000;
  const g = (id: number, name: string, path: string, parent: Group | null): Group => {
    const full = parent ? `${parent.full_path}/${path}` : path;
    return { id, name, path, full_path: full, parent_id: parent ? parent.id : null, web_url: `${GITLAB_URL}/groups/${full}` };
  };
  const acme = g(10, 'Acme', 'acme', null);
  const platform = g(11, 'Platform', 'platform', acme);
  const payments = g(12, 'Payments', 'payments', acme);
  const web = g(13, 'Web', 'web', acme);
  const infra = g(14, 'Infra', 'infra', platform);
  const groups = [acme, platform, payments, web, infra];
  const homeGroup = [payments, payments, web, infra, platform, platform, web, web, platform, payments, web, payments];

  const users: User[] = PEOPLE.map(([username, name], i) => ({
    id: 100 + i, username, name, email: `${username}@acme.example`, bot: false, createdUs: before(400 + i * 7),
  }));
  const operators: User[] = [
    { id: 150, username: 'olga.ops', name: 'Olga Petrova', email: 'olga.ops@acme.example', bot: false, createdUs: before(700) },
    { id: 151, username: 'sam.ops', name: 'Sam Taylor', email: 'sam.ops@acme.example', bot: false, createdUs: before(650) },
  ];
  const bot: User = { id: 160, username: 'deploy-bot', name: 'Deploy Bot', email: 'deploy-bot@acme.example', bot: true, createdUs: before(500) };
  const forker = users[3]!;

  const runners: Runner[] = [
    { id: 201, description: 'acme-shell-01', hosting: 'self-hosted', runner_type: 'group_type', tags: ['shell', 'deploy'], cidr: '10.20.0.0/24', managers: [{ id: 1201, system_id: `s_${rng.hex(12)}`, ip: '10.20.0.11', createdUs: before(300) }] },
    { id: 202, description: 'acme-docker', hosting: 'self-hosted', runner_type: 'group_type', tags: ['docker'], cidr: '10.20.0.0/24', managers: [
      { id: 1202, system_id: `s_${rng.hex(12)}`, ip: '10.20.0.21', createdUs: before(250) },
      { id: 1203, system_id: `s_${rng.hex(12)}`, ip: '10.20.0.22', createdUs: before(240) },
    ] },
    { id: 203, description: 'acme-docker-large', hosting: 'self-hosted', runner_type: 'group_type', tags: ['docker', 'large'], cidr: '10.20.0.0/24', managers: [{ id: 1204, system_id: `s_${rng.hex(12)}`, ip: '10.20.0.31', createdUs: before(200) }] },
    { id: 12270807, description: '3-blue.saas-linux-small-amd64.runners-manager.gitlab.com/default', hosting: 'gitlab-hosted', runner_type: 'instance_type', tags: ['saas-linux-small-amd64'], cidr: '34.74.90.0/24', managers: [{ id: 45_000_001, system_id: `r_${rng.hex(12)}`, ip: null, createdUs: before(100) }] },
  ];

  const projects: Project[] = [];
  for (let i = 0; i < nProjects; i++) {
    const base = PROJECT_NAMES[i % PROJECT_NAMES.length]!;
    const name = i < PROJECT_NAMES.length ? base : `${base}-${Math.floor(i / PROJECT_NAMES.length) + 1}`;
    const grp = homeGroup[i % homeGroup.length]!;
    const slug = name;
    const members = users.filter((_, k) => (k + i) % 3 === 0 || (k + i) % 5 === 0).slice(0, 5);
    if (!members.includes(forker) && i === 0) members.push(forker);
    const mapped = !(i % 6 === 2 || i % 6 === 5);
    const ciRunners = i % 3 === 2 ? [runners[3]!] : [runners[1]!, runners[2]!];
    projects.push({
      id: 1000 + i * 7 + 1,
      name,
      path: name,
      fullPath: `${grp.full_path}/${name}`,
      namespace: { id: grp.id, name: grp.name, path: grp.path, kind: 'group', full_path: grp.full_path, parent_id: grp.parent_id },
      slug,
      members,
      ciRunners,
      deployRunner: runners[0]!,
      hasDb: name !== 'web-frontend' && name !== 'infra-terraform',
      deploysFromMain: i % 2 === 0,
      correlationHeader: i % 4 === 1 || i % 6 === 2,
      roles: {
        ci: { name: `${slug}-ci`, claimMappings: mapped, userClaim: mapped ? 'user_email' : 'user_login', tokenType: i % 6 === 3 ? 'batch' : 'service', tokenTtl: 300, policies: ['default', `${slug}-ci`] },
        deploy: { name: `${slug}-deploy`, claimMappings: mapped, userClaim: mapped ? 'user_email' : 'user_login', tokenType: 'service', tokenTtl: 120, policies: ['default', `${slug}-deploy`] },
      },
      createdUs: before(600 - i * 20),
      pipelineIid: rng.int(50, 400),
    });
  }
  const parent = projects[0]!;
  const fork: Project = {
    ...parent,
    id: 1000 + nProjects * 7 + 3,
    fullPath: `${forker.username}/${parent.path}`,
    namespace: { id: 5000 + forker.id, name: forker.name, path: forker.username, kind: 'user', full_path: forker.username, parent_id: null },
    members: [forker],
    fork: parent,
    createdUs: before(30),
    pipelineIid: 1,
  };

  const acc = (prefix: string) => `${prefix}_${nameHex(8, seed, prefix)}`;
  const mounts: Organisation['mounts'] = {
    jwt: { point: 'auth/jwt/', type: 'jwt', cls: 'auth', accessor: acc('auth_jwt'), version: 'v0.21.1+builtin' },
    oidc: { point: 'auth/oidc/', type: 'oidc', cls: 'auth', accessor: acc('auth_oidc'), version: 'v0.21.1+builtin' },
    token: { point: 'auth/token/', type: 'token', cls: 'auth', accessor: acc('auth_token'), version: 'v1.17.3+builtin.vault' },
    kv: { point: 'kv/', type: 'kv', cls: 'secret', accessor: acc('kv'), version: 'v0.19.0+builtin' },
    database: { point: 'database/', type: 'database', cls: 'secret', accessor: acc('database'), version: 'v1.17.3+builtin.vault' },
    sys: { point: 'sys/', type: 'system', cls: 'secret', accessor: acc('system'), version: 'v1.17.3+builtin.vault' },
  };
  return { groups, users: [...users, ...operators, bot], developers: users, operators, bot, forker, runners, projects, fork, mounts, startUs };
}

/** Secrets of a project's KV paths: env → key → field names. */
export const KV_LAYOUT: Record<string, Record<string, string[]>> = {
  ci: { registry: ['password', 'username'] },
  staging: { 'api-key': ['token'], db: ['password', 'username'] },
  production: { 'api-key': ['token'], db: ['password', 'username'], 'signing-key': ['private_key'] },
};

export const SHARED_SECRETS = ['grafana', 'pagerduty', 'slack-webhook', 'statuspage'];

export function kvPath(p: Project, env: string, key: string): string {
  return `kv/data/${p.slug}/${env}/${key}`;
}
