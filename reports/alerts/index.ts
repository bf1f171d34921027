/** Alert delivery (stdout, generic and Slack webhooks), exactly once per channel. */
export { deliverAlerts, channelId, type AlertChannel, type StdoutChannel, type WebhookChannel, type DeliveryOptions, type DeliveryResult, type Delivery } from './deliver.js';
export { alertPayload, alertLine, slackMessage, type AlertPayload, type AlertEvent } from './payload.js';
export { postJson, DEFAULT_RETRY, type RetryPolicy } from './webhook.js';
