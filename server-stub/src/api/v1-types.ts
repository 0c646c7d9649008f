/**
 * Parameter types of the v1 endpoints the stub serves, as the server's
 * signatures declare them. The server refuses a wrong type with
 * "Type error: …"; the stub does too, but also takes a numeric string where
 * a number is due, since that loses nothing.
 */
export type V1Type = 'int' | 'number' | 'bool' | 'str' | 'any' | 'int-list';

const typed = (type: V1Type, names: string): Record<string, V1Type> =>
  Object.fromEntries(
    names
      .trim()
      .split(/\s+/)
      .map((n) => [n, type]),
  );

/** Types per endpoint; a name not listed is `any`. */
export const V1_TYPES: Record<string, Record<string, V1Type>> = {
  'pilot/acquire_jobs': {
    ...typed('str', 'site_name prod_source_label node computing_element prod_user_id resource_type harvester_id scheduler_id job_type'),
    ...typed('int', 'timeout memory disk_space task_id n_jobs worker_id'),
    ...typed('bool', 'background via_topic'),
    remaining_time: 'number',
  },
  'pilot/update_job': {
    ...typed(
      'str',
      `job_status job_output_report node cpu_consumption_unit scheduler_id pilot_id site_name pilot_log meta_data
       pilot_error_diag exe_error_diag pilot_timing start_time end_time batch_id job_metrics stdout job_sub_status
       corrupted_files cpu_architecture_level grid source_site destination_site`,
    ),
    ...typed('int', 'job_id cpu_consumption_time trans_exit_code pilot_error_code exe_error_code n_events n_input_files attempt_nr core_count timeout'),
    ...typed(
      'number',
      `cpu_conversion_factor mean_core_count max_rss max_vmem max_swap max_pss avg_rss avg_vmem avg_swap avg_pss
       tot_rchar tot_wchar tot_rbytes tot_wbytes rate_rchar rate_wchar rate_rbytes rate_wbytes`,
    ),
  },
  'pilot/get_job_status': { job_ids: 'int-list', timeout: 'int' },
  'event/acquire_event_ranges': { ...typed('int', 'job_id jobset_id task_id n_ranges timeout segment_id'), scattered: 'bool' },
  'event/update_event_ranges': { event_ranges: 'str', ...typed('int', 'timeout version') },
  'event/update_single_event_range': {
    ...typed('str', 'event_range_id event_range_status'),
    ...typed('int', 'core_count timeout'),
    cpu_consumption_time: 'number',
  },
  'event/get_available_event_range_count': typed('int', 'job_id jobset_id task_id timeout'),
  'pilot/update_worker_status': { worker_id: 'int', timeout: 'int', ...typed('str', 'harvester_id status node_id') },
};

/** Python's name for a JSON value's type, for messages that read like the server's. */
function pyType(value: unknown): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return 'dict';
}

const PY_NAME: Record<V1Type, string> = { int: 'int', number: 'float', bool: 'bool', str: 'str', any: 'object', 'int-list': 'list' };
const INT_TEXT = /^\s*-?\d+\s*$/;
const NUMBER_TEXT = /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/** What coerceOne answers for a value of the wrong type (a symbol: no parameter value can be it). */
const WRONG_TYPE: unique symbol = Symbol('wrong type');

/** The value converted to `type`, or WRONG_TYPE. No result object per parameter: this runs for every field of every call. */
function coerceOne(type: V1Type, value: unknown): unknown {
  switch (type) {
    case 'int':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      if (typeof value === 'string' && INT_TEXT.test(value)) return Number(value);
      return WRONG_TYPE;
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      if (typeof value === 'string' && NUMBER_TEXT.test(value)) return Number(value);
      return WRONG_TYPE;
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'True') return true;
      if (value === 'false' || value === 'False') return false;
      return WRONG_TYPE;
    case 'str':
      if (typeof value === 'string') return value;
      if (typeof value === 'number') return String(value);
      return WRONG_TYPE;
    case 'int-list': {
      const list = Array.isArray(value) ? value : [value];
      const out: number[] = [];
      for (const item of list) {
        const one = coerceOne('int', item);
        if (one === WRONG_TYPE) return WRONG_TYPE;
        out.push(one as number);
      }
      return out;
    }
    case 'any':
      return value;
  }
}

/**
 * Checks and converts parameter types. null means "not given" (the server
 * skips a None equal to the default), so it is dropped.
 */
export function coerceV1Params(
  endpoint: string,
  params: Record<string, unknown>,
): { ok: true; values: Record<string, unknown> } | { ok: false; message: string } {
  const types = V1_TYPES[endpoint] ?? {};
  const values: Record<string, unknown> = {};
  for (const name in params) {
    const value = params[name];
    if (value === null || value === undefined) continue;
    const type = types[name] ?? 'any';
    const result = coerceOne(type, value);
    if (result === WRONG_TYPE) {
      return { ok: false, message: `Type error: '${name}' must be of type ${PY_NAME[type]}, got ${pyType(value)}.` };
    }
    values[name] = result;
  }
  return { ok: true, values };
}
