/**
 * The pilot process's exit codes (pilot3's table, which wrappers and
 * monitoring already read). Documented in README.md.
 */
export const PilotExit = {
  OK: 0,
  OFFLINE: 64,
  GENERAL: 65,
  MKDIR: 66,
  NOFILE: 67,
  PROXY: 68,
  NOSPACE: 69,
  EXCEPTION: 70,
  QUEUEDATA: 71,
  QUEUEDATA_NOT_OK: 72,
  QUEUE_NOT_ACTIVE: 78,
  COMMUNICATION: 79,
  PROXY_TOO_SHORT: 80,
  MAX_TIME: 81,
  NO_JOBS: 82,
  QUEUE_OFFLINE: 83,
} as const;

/** Exit code for a pilot stopped by a signal: 128 + the signal's number, as shells report it. */
export const SIGNAL_EXIT: Readonly<Record<string, number>> = {
  SIGTERM: 143,
  SIGHUP: 129,
  SIGINT: 130,
  SIGQUIT: 131,
  SIGSEGV: 139,
  SIGXCPU: 152,
  SIGUSR1: 138,
  SIGUSR2: 140,
  SIGBUS: 135,
};
