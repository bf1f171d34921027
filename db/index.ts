export * from './connection.js';
export * from './errors.js';
export * from './time.js';
export * from './state.js';
export * from './checkpointer.js';
export * from './batch-bytes.js';
export * from './line-ids.js';
export * from './request-key.js';
export type * from './schema/index.js';
