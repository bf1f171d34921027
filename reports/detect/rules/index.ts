/** Every rule, in catalogue order. */
import type { Rule } from '../context.js';
import { RULE_IDS, type RuleId } from '../catalogue.js';
import { auditDeviceChanged, authMethodChanged, jwtRoleChanged, mountChanged, policyChanged, rootTokenGenerated } from './config-changes.js';
import { auditGap, rawAuditLogging, rootTokenUsed } from './root-and-audit.js';
import { orphanTokenCreated, tokenMultiIp, tokenTtlExcessive } from './tokens.js';
import { loginFailureBurst, permissionDeniedBurst, secretEnumeration } from './bursts.js';
import {
  claimsMismatch,
  crossProjectAccess,
  jobNotFound,
  leaseOutlivedJob,
  tokenUsedAfterJob,
  unexpectedSourceIp,
  unprotectedRefProdSecret,
  untrustedPipelineSource,
} from './ci.js';
import { offHoursHumanAccess, unattributedSecretAccess } from './human.js';

const all: Rule[] = [
  rootTokenUsed,
  rootTokenGenerated,
  auditDeviceChanged,
  auditGap,
  rawAuditLogging,
  policyChanged,
  authMethodChanged,
  jwtRoleChanged,
  mountChanged,
  tokenTtlExcessive,
  orphanTokenCreated,
  permissionDeniedBurst,
  loginFailureBurst,
  secretEnumeration,
  unexpectedSourceIp,
  tokenMultiIp,
  tokenUsedAfterJob,
  leaseOutlivedJob,
  crossProjectAccess,
  unprotectedRefProdSecret,
  untrustedPipelineSource,
  jobNotFound,
  claimsMismatch,
  unattributedSecretAccess,
  offHoursHumanAccess,
];

export const RULES: Record<RuleId, Rule> = Object.fromEntries(all.map((r) => [r.id, r])) as Record<RuleId, Rule>;

// Every catalogued id has exactly one implementation.
for (const id of RULE_IDS) if (!RULES[id]) throw new Error(`rule ${id} has no implementation`);
