import {
  decodeSafetensors,
  encodeSafetensors,
  f32Tensor,
  SafetensorsError,
  tf,
  toFloat32,
  type AdapterDelta,
  type StTensor,
} from '@cola/gl';

/** What a served record says about itself (the safetensors `__metadata__`). */
export interface ServedMeta {
  /** The job whose aux this is. */
  jobId: string;
  /** Its tenant (to answer for `ft:<base>:<tenant>:<job>` and in Status). */
  tenantId: string;
  /** The base model named in the job's spec. */
  baseModel: string;
  /** The aux version the record was computed from. */
  version: number;
  /**
   * True: the record holds the deltas (`<tap>.dW`, `<tap>.db`) to fold into the base weights.
   * False (mlp aux): no tensors; the version is served by injecting g(X) from the aux state.
   */
  mergeable: boolean;
  /** Collaborative merge group of the job; '' when it is served alone. */
  mergeGroup: string;
  /** When the merger wrote the record, Unix epoch milliseconds. */
  updatedAtMs: number;
}

/** Tag in the metadata, so a served record is never mistaken for a checkpoint or an aux state. */
export const SERVED_FORMAT = 'cola-served-v1';

/** Raised for bytes that are not a served record. */
export class ServedRecordError extends Error {
  override readonly name = 'ServedRecordError';
}

const DW = '.dW';
const DB = '.db';

/**
 * Encodes a job's served record: one safetensors file with tensors `<tap>.dW` [dIn, dOut] and
 * `<tap>.db` [dOut] (fp32), and the meta (version first) in `__metadata__`. Being plain
 * safetensors, the record is also the tenant's downloadable adapter. The deltas are read, not
 * disposed.
 */
export function encodeServedRecord(meta: ServedMeta, deltas: ReadonlyMap<string, AdapterDelta> = new Map()): Uint8Array {
  if (!meta.mergeable && deltas.size > 0) throw new ServedRecordError(`job ${meta.jobId}: a non-mergeable record carries no deltas`);
  const tensors: Record<string, StTensor> = {};
  for (const [tap, d] of deltas) {
    tensors[`${tap}${DW}`] = f32Tensor([...d.dW.shape], d.dW.dataSync() as Float32Array);
    if (d.db) tensors[`${tap}${DB}`] = f32Tensor([...d.db.shape], d.db.dataSync() as Float32Array);
  }
  return encodeSafetensors(tensors, {
    format: SERVED_FORMAT,
    version: String(meta.version),
    jobId: meta.jobId,
    tenantId: meta.tenantId,
    baseModel: meta.baseModel,
    mergeable: String(meta.mergeable),
    mergeGroup: meta.mergeGroup,
    updatedAtMs: String(meta.updatedAtMs),
  });
}

/** Reads the meta of a served record from its safetensors metadata. */
export function servedMetaFromMetadata(md: Record<string, string>, what = 'served record'): ServedMeta {
  if (md.format !== SERVED_FORMAT)
    throw new ServedRecordError(`${what} is not a served record (format "${md.format ?? ''}", expected "${SERVED_FORMAT}")`);
  const version = Number(md.version);
  if (!Number.isSafeInteger(version) || version < 0) throw new ServedRecordError(`${what} has an invalid version "${md.version ?? ''}"`);
  if (!md.jobId || !md.tenantId) throw new ServedRecordError(`${what} names no job or tenant`);
  return {
    jobId: md.jobId,
    tenantId: md.tenantId,
    baseModel: md.baseModel ?? '',
    version,
    mergeable: md.mergeable === 'true',
    mergeGroup: md.mergeGroup ?? '',
    updatedAtMs: Number(md.updatedAtMs ?? 0),
  };
}

/** A decoded served record; the caller owns (and disposes) the delta tensors. */
export interface ServedRecord {
  meta: ServedMeta;
  deltas: Map<string, AdapterDelta>;
}

/** Decodes a served record into live delta tensors keyed by tap. */
export function decodeServedRecord(bytes: Uint8Array, what = 'served record'): ServedRecord {
  let st: ReturnType<typeof decodeSafetensors>;
  try {
    st = decodeSafetensors(bytes);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new ServedRecordError(`${what}: ${e.message}`);
    throw e;
  }
  const meta = servedMetaFromMetadata(st.metadata, what);
  const taps = new Set<string>();
  for (const name of Object.keys(st.tensors)) {
    if (name.endsWith(DW)) taps.add(name.slice(0, -DW.length));
    else if (!name.endsWith(DB)) throw new ServedRecordError(`${what} has an unexpected tensor "${name}" (expected <tap>.dW and <tap>.db)`);
  }
  const deltas = new Map<string, AdapterDelta>();
  for (const tap of taps) {
    const w = st.tensors[`${tap}${DW}`]!;
    const b = st.tensors[`${tap}${DB}`];
    if (w.shape.length !== 2) throw new ServedRecordError(`${what}: ${tap}.dW must be 2-D, has shape [${w.shape.join(', ')}]`);
    if (b && (b.shape.length !== 1 || b.shape[0] !== w.shape[1]))
      throw new ServedRecordError(`${what}: ${tap}.db [${b.shape.join(', ')}] does not fit ${tap}.dW [${w.shape.join(', ')}]`);
    const dW = tf.tensor2d(toFloat32(w), w.shape as [number, number]);
    deltas.set(tap, b ? { dW, db: tf.tensor1d(toFloat32(b)) } : { dW });
  }
  for (const name of Object.keys(st.tensors)) {
    if (name.endsWith(DB) && !taps.has(name.slice(0, -DB.length))) {
      for (const d of deltas.values()) tf.dispose([d.dW, ...(d.db ? [d.db] : [])]);
      throw new ServedRecordError(`${what} has ${name} without its ${name.slice(0, -DB.length)}${DW}`);
    }
  }
  return { meta, deltas };
}

/**
 * The collaborative merge of the paper's 'col' mode: mean_k dW_k (and db_k) over the members of a
 * group. `memberCount` is K; a member that lacks a tap (or has no record yet) contributes zero
 * there, which is exactly its initial delta (lowrank B and linear V start at zero). New tensors.
 */
export function meanDeltas(members: readonly ReadonlyMap<string, AdapterDelta>[], memberCount = members.length): Map<string, AdapterDelta> {
  if (!Number.isInteger(memberCount) || memberCount < 1 || memberCount < members.length) {
    throw new RangeError(
      `meanDeltas: memberCount must be an integer >= ${Math.max(1, members.length)} (the group size), got ${memberCount}`,
    );
  }
  const taps = new Set<string>();
  for (const m of members) for (const tap of m.keys()) taps.add(tap);
  const out = new Map<string, AdapterDelta>();
  for (const tap of taps) {
    const present = members.map((m) => m.get(tap)).filter((d): d is AdapterDelta => d !== undefined);
    const shape = present[0]!.dW.shape;
    for (const d of present) {
      if (d.dW.shape[0] !== shape[0] || d.dW.shape[1] !== shape[1]) {
        throw new Error(
          `merge group members disagree on ${tap}: dW [${shape.join(', ')}] vs [${d.dW.shape.join(', ')}]; a group must share one base model and target modules`,
        );
      }
    }
    const dW = tf.tidy(() => tf.div<tf.Tensor2D>(tf.addN(present.map((d) => d.dW)), memberCount));
    const bs = present.map((d) => d.db).filter((b): b is tf.Tensor1D => b !== undefined);
    out.set(tap, bs.length ? { dW, db: tf.tidy(() => tf.div<tf.Tensor1D>(tf.addN(bs), memberCount)) } : { dW });
  }
  return out;
}
