export { parseJobDescription, MalformedJobError, type JobDescription } from './job-description.js';
