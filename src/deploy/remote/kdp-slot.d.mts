import type { KeyObject } from 'node:crypto';

export class SlotIntegrityError extends Error {
  readonly integrity: true;
  constructor(message: string);
}
export interface SlotManifest {
  format: 'kdp-model';
  name?: string;
  model: { file: string; sha256: string; bytes: number };
  scorer?: { file: string; sha256: string; bytes: number; [k: string]: unknown };
  signature?: { alg: 'ed25519'; keyId: string; value: string };
  [k: string]: unknown;
}
export function canonicalJson(value: unknown): string;
export function signedPayload(manifest: object): Buffer;
export function keyIdOf(publicKey: KeyObject): string;
export function loadTrustedKeys(dir: string): Map<string, KeyObject>;
export function sha256File(path: string, chunkBytes?: number): Promise<{ sha256: string; bytes: number }>;
export interface SlotFile { role: string; file: string; sha256: string; bytes: number }
export function modelFiles(manifest: SlotManifest): SlotFile[];
export function parseManifest(text: string, where: string): SlotManifest;
export function verifyManifestSignature(manifest: SlotManifest, trusted: Map<string, KeyObject>, where?: string): string;
export function verifyModelDir(dir: string, trusted: Map<string, KeyObject>): Promise<{ manifest: SlotManifest; keyId: string; sha256: string; bytes: number }>;
export function swapLink(root: string, name: string, target: string): void;
export interface SlotStatus { root: string; active: string | undefined; previous: string | undefined; slots: string[]; staging: string[]; trustedKeys: string[] }
export function status(root: string): SlotStatus;
export interface ActivateResult { ok: true; action: 'activate'; modelVersion: number; active: string; previous: string | undefined; name: string | undefined; sha256: string; bytes: number; keyId: string }
export function activate(root: string, slot: string, opts?: { keep?: number }): Promise<ActivateResult>;
export interface RollbackResult { ok: true; action: 'rollback'; active: string; previous: string | undefined; name: string | undefined; sha256: string }
export function rollback(root: string): Promise<RollbackResult>;
export function modelVersionOf(manifest: SlotManifest): number;
export function readVersionFloor(root: string): number;
