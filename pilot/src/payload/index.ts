/** What a payload's end means — shared by a job's payload and an event range's (below lifecycle/ and eventservice/). */
export { judgePayload, shellStatus, signalNumber, type PayloadVerdict, type VerdictFacts } from './payload-outcome.js';
