// What the merger's tests set up alike: the stores over one Redis connection and the real trainer's
// fit-task processor feeding them. Plain code (no test runner); nothing in production imports it.
import type { Redis } from 'ioredis';
import { AuxStateStore, PayloadRepublishStore, TensorStore } from '@cola/store';
import { JobStore } from '../jobs/job-store';
import type { AuxPublishedData } from '../queues/aux-published-data';
import type { AuxPublisher } from '../trainer/aux-published-publisher';
import { FitTaskProcessor } from '../trainer/fit-task-processor';
import { disposeFitData, encodeFitTask, fitData, putFitTask, type TinyJob } from '../trainer/test-fixtures';

/** The stores and the trainer's processor a merger test drives. */
export interface TrainerRig {
  aux: AuxStateStore;
  payloads: TensorStore;
  jobs: JobStore;
  processor: FitTaskProcessor;
  /** What the processor announced since the last {@link TrainerRig.train} (without a publisher only). */
  announced: AuxPublishedData[];
  /** Stores and applies the job's seeded fit tasks [from, from + n) in order; returns what they announced. */
  train(job: TinyJob, from: number, n: number): Promise<AuxPublishedData[]>;
}

/**
 * The rig over `conn`. With a `publisher` the processor announces through it (the merger consumes
 * the queue); without one the announcements are kept in `announced` for the test to apply.
 */
export function trainerRig(conn: Redis, publisher?: AuxPublisher): TrainerRig {
  const aux = new AuxStateStore(conn);
  const payloads = new TensorStore(conn);
  const jobs = new JobStore(conn);
  const announced: AuxPublishedData[] = [];
  const processor = new FitTaskProcessor({
    payloads,
    republish: new PayloadRepublishStore(conn),
    aux,
    jobs,
    publisher: publisher ?? { publish: async (d: AuxPublishedData) => void announced.push(d) },
  });
  return {
    aux,
    payloads,
    jobs,
    processor,
    announced,
    async train(job, from, n) {
      for (let seq = from; seq < from + n; seq++) {
        const data = fitData(job, seq);
        const task = await putFitTask(job, seq, encodeFitTask(job, seq, data), payloads);
        disposeFitData(data);
        await processor.process(task);
      }
      return announced.splice(0);
    },
  };
}
