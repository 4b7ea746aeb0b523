import { OTHER_TENANT } from '@cola/config';

/**
 * Keeps the `tenant` label bounded (Prometheus cost grows with every label value): a tenant id becomes a label value only when the
 * operator listed it (ENV.COLA_METRICS_TENANTS); every other tenant is `other`. Job ids are never
 * labels at all: they grow without bound and would make Prometheus's memory grow with them.
 */
export class TenantLabels {
  private readonly allowed: ReadonlySet<string>;

  /** `allowlist`: tenant ids, or the raw comma-separated env value. */
  constructor(allowlist: Iterable<string> | string | undefined = undefined) {
    const ids = typeof allowlist === 'string' ? allowlist.split(',') : [...(allowlist ?? [])];
    this.allowed = new Set(ids.map((s) => s.trim()).filter((s) => s.length > 0));
    if (this.allowed.has(OTHER_TENANT))
      throw new RangeError(`metrics tenant allowlist: "${OTHER_TENANT}" is the label of every unlisted tenant; remove it from the list`);
  }

  /** The label value for a tenant. */
  of(tenantId: string): string {
    return this.allowed.has(tenantId) ? tenantId : OTHER_TENANT;
  }

  /** How many tenants may appear by name. */
  get size(): number {
    return this.allowed.size;
  }
}
