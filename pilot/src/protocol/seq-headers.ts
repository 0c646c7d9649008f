/**
 * Headers that carry update sequences (real servers ignore unknown headers,
 * so they are safe to send anywhere; the stub checks order with them).
 */

/** One update: `<PandaID>:<attemptNr>:<n>`, n counting the job attempt's updates from 1. */
export const SEQ_HEADER = 'X-PanDA-Update-Seq';

/**
 * A bulk update (updateJobsInBulk / pilot/update_jobs_bulk) carries one
 * sequence per job, so one header cannot: this one holds a JSON object
 * `{"<PandaID>": "<PandaID>:<attemptNr>:<n>", …}`.
 */
export const BULK_SEQ_HEADER = 'X-PanDA-Update-Seq-Bulk';
