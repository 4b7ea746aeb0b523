/** The `jobs` queue's job data: only the id; the spec lives in the job record. */
export interface JobsQueueData {
  jobId: string;
}
