export { createLogger, jobLogger, type Logger, type LoggerOptions } from './logger.js';
