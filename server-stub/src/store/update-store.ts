/** Every update request a pilot sent, in arrival order, as received. */
import type { Dialect, UpdateRecord } from '../model/records.js';
import { prepared, type Db } from './database.js';

interface UpdateRow {
  id: number;
  panda_id: number;
  received_at: string;
  dialect: string;
  method: string;
  params_json: string;
  seq_header: string | null;
  result: string;
  command: string;
  order_violation: string | null;
}

function toRecord(r: UpdateRow): UpdateRecord {
  return {
    id: r.id,
    pandaId: r.panda_id,
    receivedAt: r.received_at,
    dialect: r.dialect as Dialect,
    method: r.method,
    params: JSON.parse(r.params_json) as Record<string, unknown>,
    seqHeader: r.seq_header,
    result: r.result,
    command: r.command,
    orderViolation: r.order_violation,
  };
}

/** A past update as the order rules need it (`UpdateStore.orderHistory`). */
export interface OrderHistoryRow {
  seqHeader: string | null;
  /** The `state` (legacy) or `job_status` (v1) parameter as text; '' when neither. */
  state: string;
  result: string;
  command: string;
  orderViolation: string | null;
  paramsJson: string;
}

/** Update rows. */
export class UpdateStore {
  constructor(private readonly db: Db) {}

  insert(u: Omit<UpdateRecord, 'id'>): UpdateRecord {
    const info = prepared(
      this.db,
      `INSERT INTO updates (panda_id, received_at, dialect, method, params_json, seq_header, result, command, order_violation)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(u.pandaId, u.receivedAt, u.dialect, u.method, JSON.stringify(u.params), u.seqHeader, u.result, u.command, u.orderViolation);
    // Not `{ ...u, id }`: a spread with a property after it cost about a microsecond.
    return Object.assign({ id: Number(info.lastInsertRowid) }, u);
  }

  /** All updates of a job, in the order they arrived. */
  forJob(pandaId: number): UpdateRecord[] {
    return (prepared(this.db, `SELECT * FROM updates WHERE panda_id = ? ORDER BY id`).all(pandaId) as UpdateRow[]).map(toRecord);
  }

  /**
   * What the order rules read of a job's past updates, oldest first: the
   * state taken out in SQL (json_extract), the parameters left as text, so
   * the hot path parses no JSON unless a resend has to be compared.
   */
  orderHistory(pandaId: number): OrderHistoryRow[] {
    return prepared(
      this.db,
      `SELECT seq_header AS seqHeader, result, command, order_violation AS orderViolation, params_json AS paramsJson,
           CAST(COALESCE(json_extract(params_json, '$.state'), json_extract(params_json, '$.job_status'), '') AS TEXT) AS state
         FROM updates WHERE panda_id = ? ORDER BY id`,
    ).all(pandaId) as OrderHistoryRow[];
  }

  /** The past updates of a job whose sequence header contains `seq` (a superset: the caller matches exactly). */
  withSeq(pandaId: number, seq: string): OrderHistoryRow[] {
    return prepared(
      this.db,
      `SELECT seq_header AS seqHeader, result, command, order_violation AS orderViolation, params_json AS paramsJson,
           CAST(COALESCE(json_extract(params_json, '$.state'), json_extract(params_json, '$.job_status'), '') AS TEXT) AS state
         FROM updates WHERE panda_id = ? AND instr(seq_header, ?) > 0 ORDER BY id`,
    ).all(pandaId, seq) as OrderHistoryRow[];
  }

  /** The most recent update of a job: what an order check compares against. */
  last(pandaId: number): UpdateRecord | undefined {
    const row = prepared(this.db, `SELECT * FROM updates WHERE panda_id = ? ORDER BY id DESC LIMIT 1`).get(pandaId) as UpdateRow | undefined;
    return row && toRecord(row);
  }

  /** Totals for the summary. */
  totals(): { total: number; byResult: Record<string, number>; byDialect: Record<string, number>; orderViolations: number } {
    const count = (sql: string) => (prepared(this.db, sql).get() as { n: number }).n;
    const group = (col: string) =>
      Object.fromEntries(
        (prepared(this.db, `SELECT ${col} AS k, COUNT(*) AS n FROM updates GROUP BY ${col}`).all() as { k: string; n: number }[]).map((r) => [r.k, r.n]),
      );
    return {
      total: count(`SELECT COUNT(*) AS n FROM updates`),
      byResult: group('result'),
      byDialect: group('dialect'),
      orderViolations: count(`SELECT COUNT(*) AS n FROM updates WHERE order_violation IS NOT NULL`),
    };
  }
}
