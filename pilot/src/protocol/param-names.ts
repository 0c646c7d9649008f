/**
 * The parameter names real PanDA servers accept, per method (docs/panda-protocol.md §12).
 * A legacy server turns parameters into function arguments and answers an
 * unknown name with HTTP 500; v1 answers "Argument error". The pilot must send
 * only these names and the stub refuses anything else, so a mistake shows up
 * locally instead of on a production server.
 */

const words = (s: string): readonly string[] => s.trim().split(/[\s,]+/);

export const LEGACY_PARAMS = {
  getJob: words(`siteName token timeout cpu mem diskSpace prodSourceLabel node computingElement
    AtlasRelease prodUserID getProxyKey countryGroup workingGroup allowOtherCountry taskID nJobs
    background resourceType harvester_id worker_id schedulerID jobType viaTopic remaining_time`),
  updateJob: words(`jobId state token transExitCode pilotErrorCode pilotErrorDiag timestamp timeout
    xml node workdir cpuConsumptionTime cpuConsumptionUnit remainingSpace schedulerID pilotID
    siteName messageLevel pilotLog metaData cpuConversionFactor exeErrorCode exeErrorDiag
    pilotTiming computingElement startTime endTime nEvents nInputFiles batchID attemptNr
    jobMetrics stdout jobSubStatus coreCount maxRSS maxVMEM maxSWAP maxPSS avgRSS avgVMEM
    avgSWAP avgPSS totRCHAR totWCHAR totRBYTES totWBYTES rateRCHAR rateWCHAR rateRBYTES
    rateWBYTES corruptedFiles meanCoreCount cpu_architecture_level grid source_site
    destination_site`),
  updateJobsInBulk: words('jobList harvester_id'),
  getEventRanges: words('pandaID jobsetID taskID nRanges timeout scattered segment_id'),
  updateEventRange: words('eventRangeID eventStatus coreCount cpuConsumptionTime objstoreID timeout pandaID'),
  updateEventRanges: words('eventRanges timeout version pandaID'),
  checkEventsAvailability: words('pandaID jobsetID taskID timeout'),
  updateWorkerPilotStatus: words('site workerID harvesterID status timeout node_id'),
  getStatus: words('ids timeout'),
  checkJobStatus: words('ids timeout'),
  getResourceTypes: words('timeout'),
} as const satisfies Record<string, readonly string[]>;

export type LegacyMethod = keyof typeof LEGACY_PARAMS;

/** Required parameters per legacy method (missing → the server refuses the call). */
export const LEGACY_REQUIRED: Partial<Record<LegacyMethod, readonly string[]>> = {
  getJob: ['siteName'],
  updateJob: ['jobId', 'state'],
  updateJobsInBulk: ['jobList'],
  getEventRanges: ['pandaID', 'jobsetID'],
  updateEventRange: ['eventRangeID', 'eventStatus'],
  updateEventRanges: ['eventRanges'],
  checkEventsAvailability: ['pandaID', 'jobsetID'],
  updateWorkerPilotStatus: ['site', 'workerID', 'harvesterID', 'status'],
  getStatus: ['ids'],
  checkJobStatus: ['ids'],
};

export const V1_PARAMS = {
  'pilot/acquire_jobs': words(`site_name timeout memory disk_space prod_source_label node
    computing_element prod_user_id get_proxy_key task_id n_jobs background resource_type
    harvester_id worker_id scheduler_id job_type via_topic remaining_time`),
  'pilot/update_job': words(`job_id job_status job_output_report node cpu_consumption_time
    cpu_consumption_unit scheduler_id pilot_id site_name pilot_log meta_data cpu_conversion_factor
    trans_exit_code pilot_error_code pilot_error_diag exe_error_code exe_error_diag pilot_timing
    start_time end_time n_events n_input_files batch_id attempt_nr job_metrics stdout
    job_sub_status core_count max_rss max_vmem max_swap max_pss avg_rss avg_vmem avg_swap avg_pss
    tot_rchar tot_wchar tot_rbytes tot_wbytes rate_rchar rate_wchar rate_rbytes rate_wbytes
    corrupted_files mean_core_count cpu_architecture_level grid source_site destination_site
    timeout`),
  'pilot/update_jobs_bulk': words('job_list harvester_id'),
  'pilot/get_job_status': words('job_ids timeout'),
  'pilot/update_worker_status': words('worker_id harvester_id status timeout node_id'),
  'event/acquire_event_ranges': words('job_id jobset_id task_id n_ranges timeout scattered segment_id'),
  'event/update_single_event_range': words('event_range_id event_range_status core_count cpu_consumption_time object_store_id timeout'),
  'event/update_event_ranges': words('event_ranges timeout version'),
  'event/get_available_event_range_count': words('job_id jobset_id task_id timeout'),
  'event/get_event_range_statuses': words('job_task_ids'),
  'system/is_alive': [],
} as const satisfies Record<string, readonly string[]>;

export type V1Endpoint = keyof typeof V1_PARAMS;

export const V1_REQUIRED: Partial<Record<V1Endpoint, readonly string[]>> = {
  'pilot/acquire_jobs': ['site_name'],
  'pilot/update_job': ['job_id', 'job_status'],
  'pilot/update_jobs_bulk': ['job_list'],
  'pilot/get_job_status': ['job_ids'],
  'pilot/update_worker_status': ['worker_id', 'harvester_id', 'status'],
  'event/acquire_event_ranges': ['job_id', 'jobset_id'],
  'event/update_single_event_range': ['event_range_id', 'event_range_status'],
  'event/update_event_ranges': ['event_ranges'],
  'event/get_available_event_range_count': ['job_id', 'jobset_id'],
};

/** Legacy updateJob names whose v1 name is not the plain snake_case form. */
const UPDATE_JOB_RENAMES: Record<string, string> = {
  jobId: 'job_id',
  state: 'job_status',
  xml: 'job_output_report',
  metaData: 'meta_data',
  coreCount: 'core_count',
  maxRSS: 'max_rss',
  maxVMEM: 'max_vmem',
  maxSWAP: 'max_swap',
  maxPSS: 'max_pss',
  avgRSS: 'avg_rss',
  avgVMEM: 'avg_vmem',
  avgSWAP: 'avg_swap',
  avgPSS: 'avg_pss',
  totRCHAR: 'tot_rchar',
  totWCHAR: 'tot_wchar',
  totRBYTES: 'tot_rbytes',
  totWBYTES: 'tot_wbytes',
  rateRCHAR: 'rate_rchar',
  rateWCHAR: 'rate_wchar',
  rateRBYTES: 'rate_rbytes',
  rateWBYTES: 'rate_wbytes',
  pilotID: 'pilot_id',
  batchID: 'batch_id',
  schedulerID: 'scheduler_id',
};

const GET_JOB_RENAMES: Record<string, string> = {
  siteName: 'site_name',
  mem: 'memory',
  diskSpace: 'disk_space',
  prodSourceLabel: 'prod_source_label',
  computingElement: 'computing_element',
  prodUserID: 'prod_user_id',
  getProxyKey: 'get_proxy_key',
  taskID: 'task_id',
  nJobs: 'n_jobs',
  resourceType: 'resource_type',
  schedulerID: 'scheduler_id',
  jobType: 'job_type',
  viaTopic: 'via_topic',
};

/** camelCase → snake_case, the way the v1 API renamed the legacy parameters. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** The v1 name of a legacy updateJob parameter. */
export function v1UpdateJobName(legacy: string): string {
  return UPDATE_JOB_RENAMES[legacy] ?? snakeCase(legacy);
}

/** The v1 name of a legacy getJob parameter. */
export function v1GetJobName(legacy: string): string {
  return GET_JOB_RENAMES[legacy] ?? snakeCase(legacy);
}

/** Names in `params` that `allowed` does not contain. */
export function unknownParams(params: Record<string, unknown>, allowed: readonly string[]): string[] {
  const set = new Set(allowed);
  return Object.keys(params).filter((k) => !set.has(k));
}

/** Required names that are absent or empty in `params`. */
export function missingParams(params: Record<string, unknown>, required: readonly string[] | undefined): string[] {
  return (required ?? []).filter((k) => params[k] === undefined || params[k] === null || params[k] === '');
}
