import type { Acknowledgment } from 'aws-cdk-lib';

/** The cdk-nag compliance packs SecureDbApi is checked against besides AwsSolutions, as their rule ids begin. */
export const COMPLIANCE_PACKS = ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'] as const;

/** Acknowledgements of one rule in every compliance pack, for one reason. */
export function inCompliancePacks(rule: string, reason: string): Acknowledgment[] {
  return COMPLIANCE_PACKS.map((pack) => ({ id: `${pack}-${rule}`, reason }));
}
