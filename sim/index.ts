/** The simulator (and, beside it, the fake GitLab server in sim/fake-gitlab). */
export { simulate, SIM_START, type SimulateOptions, type SimulateResult } from './simulate/index.js';
