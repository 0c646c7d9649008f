/**
 * The worker status report (legacy `updateWorkerPilotStatus`, v1
 * `pilot/update_worker_status`): tells the server, on Harvester's behalf, that
 * the pilot of a worker started or finished. The wrapper calls it around the
 * pilot; it is best effort and never decides a job's fate.
 */
import { StatusCode } from '../protocol/index.js';
import { LegacyDialect, ProtocolError } from './legacy-dialect.js';
import type { PandaServer, SendOptions } from './panda-server.js';
import { V1Dialect } from './v1-dialect.js';

export type WorkerStatus = 'started' | 'finished';

export interface WorkerStatusReport {
  site: string;
  harvesterId: string;
  workerId: string;
  status: WorkerStatus;
  nodeId: string;
}

/** Sends one worker status report in the server's dialect; throws when the server refuses it. */
export async function updateWorkerStatus(server: PandaServer, report: WorkerStatusReport, opts?: SendOptions): Promise<void> {
  if (server instanceof V1Dialect) {
    // v1 types worker_id as an integer (Harvester's ids are); there is no site parameter.
    const workerId = /^\d+$/.test(report.workerId) ? Number(report.workerId) : report.workerId;
    const env = await server.call(
      'pilot/update_worker_status',
      { worker_id: workerId, harvester_id: report.harvesterId, status: report.status, node_id: report.nodeId },
      opts,
    );
    if (!env.success) throw new ProtocolError(`update_worker_status refused: ${env.message}`);
    return;
  }
  if (server instanceof LegacyDialect) {
    const reply = await server.call(
      'updateWorkerPilotStatus',
      { site: report.site, workerID: report.workerId, harvesterID: report.harvesterId, status: report.status, node_id: report.nodeId },
      opts,
    );
    if (Number(reply.StatusCode) !== StatusCode.OK) {
      throw new ProtocolError(`updateWorkerPilotStatus: StatusCode ${String(reply.StatusCode)}${reply.errorDialog ? ` (${String(reply.errorDialog)})` : ''}`);
    }
    return;
  }
  throw new ProtocolError(`worker status is not supported by a ${server.dialect} server object`);
}
