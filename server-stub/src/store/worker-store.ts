/**
 * Worker status reports (`updateWorkerPilotStatus` / `pilot/update_worker_status`)
 * as received. The real server sets pilotStatus and start/end times on
 * Harvester's worker row; the stub only has to show what arrived.
 */
import type { Dialect } from '../model/records.js';
import { prepared, type Db } from './database.js';

/** One worker status report. */
export interface WorkerStatusRecord {
  id: number;
  receivedAt: string;
  dialect: Dialect;
  harvesterId: string;
  workerId: string;
  status: string;
  nodeId: string | null;
  site: string | null;
}

interface WorkerRow {
  id: number;
  received_at: string;
  dialect: string;
  harvester_id: string;
  worker_id: string;
  status: string;
  node_id: string | null;
  site: string | null;
}

/** Worker status rows. */
export class WorkerStore {
  constructor(private readonly db: Db) {}

  insert(w: Omit<WorkerStatusRecord, 'id'>): WorkerStatusRecord {
    const info = prepared(
      this.db,
      `INSERT INTO worker_status (received_at, dialect, harvester_id, worker_id, status, node_id, site) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(w.receivedAt, w.dialect, w.harvesterId, w.workerId, w.status, w.nodeId, w.site);
    return { ...w, id: Number(info.lastInsertRowid) };
  }

  /** Every report, in arrival order. */
  list(): WorkerStatusRecord[] {
    return (prepared(this.db, `SELECT * FROM worker_status ORDER BY id`).all() as WorkerRow[]).map((r) => ({
      id: r.id,
      receivedAt: r.received_at,
      dialect: r.dialect as Dialect,
      harvesterId: r.harvester_id,
      workerId: r.worker_id,
      status: r.status,
      nodeId: r.node_id,
      site: r.site,
    }));
  }
}
