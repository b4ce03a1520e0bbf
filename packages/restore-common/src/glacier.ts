/**
 * Retrieval prices of archived S3 objects, for cost estimates before a thaw.
 *
 * Source: Amazon S3 pricing, US East (N. Virginia), as restated in AWS re:Post "How do I manage
 * data retrieval costs for S3 Glacier Flexible Retrieval and Deep Archive" and the S3 User Guide
 * "Archive retrieval options" (Bulk is free for Flexible Retrieval and Intelligent-Tiering).
 * Read on 2026-11-21. Prices differ by region and change: estimates, not invoices.
 */
import type { ArchiveTier } from './request';

export const GLACIER_PRICES_SOURCE =
  'Amazon S3 pricing, us-east-1, read 2026-11-21';

/** Storage classes whose objects must be restored before a GET. */
export const ARCHIVED_STORAGE_CLASSES = ['GLACIER', 'DEEP_ARCHIVE'] as const;
/** Intelligent-Tiering archive tiers, from HeadObject's `x-amz-archive-status`. */
export const ARCHIVED_INTELLIGENT_TIERING_STATUSES = [
  'ARCHIVE_ACCESS',
  'DEEP_ARCHIVE_ACCESS',
] as const;

export type ArchiveClass = 'GLACIER' | 'DEEP_ARCHIVE' | 'INTELLIGENT_TIERING';

export interface RetrievalPrice {
  /** USD per GB retrieved. */
  perGb: number;
  /** USD per 1,000 restore requests. */
  perThousandRequests: number;
  /** Typical time to a restored copy. */
  typicalHours: string;
}

export const GLACIER_RETRIEVAL_PRICES: Record<
  ArchiveClass,
  Partial<Record<ArchiveTier, RetrievalPrice>>
> = {
  GLACIER: {
    Expedited: {
      perGb: 0.03,
      perThousandRequests: 10.0,
      typicalHours: '0.02-0.08',
    },
    Standard: { perGb: 0.01, perThousandRequests: 0.05, typicalHours: '3-5' },
    Bulk: { perGb: 0, perThousandRequests: 0, typicalHours: '5-12' },
  },
  DEEP_ARCHIVE: {
    Standard: { perGb: 0.02, perThousandRequests: 0.1, typicalHours: '12' },
    Bulk: { perGb: 0.0025, perThousandRequests: 0.025, typicalHours: '48' },
  },
  INTELLIGENT_TIERING: {
    Expedited: {
      perGb: 0.03,
      perThousandRequests: 10.0,
      typicalHours: '0.02-0.08',
    },
    Standard: { perGb: 0, perThousandRequests: 0, typicalHours: '3-5' },
    Bulk: { perGb: 0, perThousandRequests: 0, typicalHours: '5-12' },
  },
};

export interface ArchivedTotals {
  objects: number;
  bytes: number;
}

export interface ThawEstimate {
  tier: ArchiveTier;
  /** False where the class has no such tier (Expedited for Deep Archive). */
  available: boolean;
  usd: number;
  typicalHours: string;
}

/** Cost of thawing the archived objects of each class with each tier (GB = 10^9 bytes). */
export function estimateThawCost(
  archived: Partial<Record<ArchiveClass, ArchivedTotals>>,
): ThawEstimate[] {
  const tiers: ArchiveTier[] = ['Expedited', 'Standard', 'Bulk'];
  return tiers.map(tier => {
    let usd = 0;
    let available = true;
    const hours = new Set<string>();
    for (const [cls, totals] of Object.entries(archived) as [
      ArchiveClass,
      ArchivedTotals,
    ][]) {
      if (!totals || totals.objects === 0) continue;
      const price = GLACIER_RETRIEVAL_PRICES[cls][tier];
      if (!price) {
        available = false;
        continue;
      }
      usd +=
        (totals.bytes / 1e9) * price.perGb +
        (totals.objects / 1000) * price.perThousandRequests;
      hours.add(price.typicalHours);
    }
    return {
      tier,
      available,
      usd: Math.round(usd * 100) / 100,
      typicalHours: [...hours].join(', ') || '-',
    };
  });
}
