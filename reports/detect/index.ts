/**
 * Detections: the rule catalogue, running the rules into deduplicated findings, mutes, queries and triage,
 * and `runAlerts` (detect, then deliver to stdout and webhooks) for `keytrail alerts` and `keytrail run`.
 */
import type { KeytrailDb } from '../../db/connection.js';
import { runDetections, type DetectionOptions, type DetectionResult } from './engine.js';
import type { DetectionSettings } from './settings.js';
import { deliverAlerts, type AlertChannel, type DeliveryResult } from '../alerts/deliver.js';
import type { RetryPolicy } from '../alerts/webhook.js';

export { CATALOGUE, RULE_IDS, SEVERITY_RANK, isRuleId, isSeverity, type RuleId, type RuleInfo, type Severity } from './catalogue.js';
export { runDetections, groupEvidence, type DetectionOptions, type DetectionResult } from './engine.js';
export { defaultDetectionSettings, DEFAULT_THRESHOLD, type DetectionSettings, type MuteSetting } from './settings.js';
export { findingRow, FINDING_FIELDS, type FindingRow, type FindingRecord } from './row.js';
export { queryFindings, resolveFinding, reopenFinding, findingTriage, type FindingFilters, type ListedFinding, type TriageOptions, type TriageRecord } from './query.js';
export { muteMatcher, muteExpiry, validateMutes } from './mute.js';
export { deliverAlerts, channelId, type AlertChannel, type StdoutChannel, type WebhookChannel, type DeliveryResult } from '../alerts/deliver.js';

export interface AlertsOptions extends DetectionOptions {
  channels: AlertChannel[];
  retry?: Partial<RetryPolicy>;
}

export interface AlertsResult {
  detection: DetectionResult;
  delivery: DeliveryResult;
  /** CONTRACT.md: 1 when a delivery failed (wins), 3 when a new/re-opened/escalated unmuted high or critical finding was delivered, else 0. */
  exitCode: 0 | 1 | 3;
}

/** Runs the detectors, then delivers what is new on every channel: what `keytrail alerts` and `run` do. */
export async function runAlerts(handle: KeytrailDb, settings: DetectionSettings, options: AlertsOptions): Promise<AlertsResult> {
  const detection = await runDetections(handle, settings, options);
  const delivery = await deliverAlerts(handle, {
    channels: options.channels,
    retry: options.retry,
    now: options.now,
    currentEventIds: detection.event_ids,
  });
  return { detection, delivery, exitCode: delivery.exitCode };
}
