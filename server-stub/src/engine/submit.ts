/** Turns a validated task file into tasks and jobs, in one transaction. */
import { randomUUID } from 'node:crypto';
import { pandaJobName } from '../model/job-description.js';
import { resourceTypeFor, type ResourceTypeRow } from '../model/resource-types.js';
import { clusterQuanta, esJobCommand, type EsChunk } from '../model/event-service.js';
import type { JobSpec, SubmissionSpec, TaskSpec } from '../model/task-file.js';
import type { Stores } from '../store/index.js';
import { createRanges } from './event-service.js';
import { refreshTaskStatus } from './job-end.js';

/**
 * The PanDA jobs of a task: its payloads one job each, or, for an
 * event-service task, clustered into jobs of ranges that take the task's
 * cores, memory and walltime.
 */
function jobsOf(t: TaskSpec): (JobSpec & { chunk?: EsChunk })[] {
  if (!t.eventService) return t.jobs;
  return clusterQuanta(t.jobs, t.eventService.rangesPerJob).map((chunk) => ({
    name: `eventservice_${chunk.firstOrderId}`,
    command: esJobCommand(t.name, chunk),
    cores: t.cores,
    memoryMB: t.memoryMB,
    walltimeSec: t.walltimeSec,
    chunk,
  }));
}

/** What a submission created. */
export interface SubmittedTask {
  taskId: number;
  name: string;
  requestId: number;
  status: string;
  pandaIds: number[];
}

/** Stores a submission. Tasks with dependencies start with their jobs `defined`; the rest are `activated`. */
export function submit(stores: Stores, spec: SubmissionSpec, at: string, resourceTypes?: readonly ResourceTypeRow[]): SubmittedTask[] {
  return stores.atomically(() => {
    const requestId = stores.tasks.newRequest(spec.workflow, at);
    const idByName = new Map<string, number>();
    const out: SubmittedTask[] = [];
    // spec.tasks is in dependency order, so every `after` name is already known here.
    for (const t of spec.tasks) {
      const after = t.after.map((n) => {
        const id = idByName.get(n);
        if (id === undefined) throw new Error(`task "${t.name}" waits for unknown task "${n}"`);
        return id;
      });
      const task = stores.tasks.insert({
        requestId,
        workflow: spec.workflow,
        name: t.name,
        site: t.site,
        label: t.label,
        cores: t.cores,
        memoryMB: t.memoryMB,
        walltimeSec: t.walltimeSec,
        maxAttempts: t.maxAttempts,
        memoryBoost: t.memoryBoost,
        maxMemoryMB: t.maxMemoryMB,
        priority: t.priority,
        sandbox: t.sandbox,
        transformation: t.transformation,
        after,
        status: after.length > 0 ? 'waiting' : 'running',
        createdAt: at,
      });
      idByName.set(t.name, task.taskId);
      if (t.eventService) stores.ranges.setTask(task.taskId, t.eventService);
      const pandaIds = jobsOf(t).map((j, slot) => {
        const job = stores.jobs.insert(
          {
            taskId: task.taskId,
            slot,
            name: j.name,
            // One jobset per task, as Rubin's tasks have (jobsetID = taskID in the fixtures).
            jobsetId: task.taskId,
            attemptNr: 1,
            state: after.length > 0 ? 'defined' : 'activated',
            command: j.command,
            cores: j.cores,
            minRamCount: j.memoryMB,
            maxDiskCount: 0,
            maxWalltime: j.walltimeSec,
            resourceType: resourceTypeFor(j.memoryMB, j.cores, resourceTypes),
            label: t.label,
            site: t.site,
            priority: t.priority,
            logGuid: randomUUID(),
            retryOf: null,
            createdAt: at,
          },
          (pandaId) => pandaJobName(t.name, j.name, pandaId),
        );
        if (j.chunk) createRanges(stores, job, t.name, j.chunk, at);
        return job.pandaId;
      });
      refreshTaskStatus(stores, task.taskId);
      out.push({ taskId: task.taskId, name: task.name, requestId, status: stores.tasks.get(task.taskId)?.status ?? 'running', pandaIds });
    }
    return out;
  });
}
