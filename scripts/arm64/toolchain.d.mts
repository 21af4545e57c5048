export const REPO_ROOT: string;
export const NODE_ARM64: { package: string; version: string; integrity: string; binarySha256: string };
export const DEFAULT_SYSROOT: string;
export const APT_PACKAGES: string[];
export class ToolchainError extends Error {
  constructor(code: string, message: string, hint: string);
  readonly code: string;
  readonly hint: string;
}
export function cacheDir(): string;
export function findQemu(): string;
export function findSysroot(): string;
export function sha512Integrity(file: string): string;
export function sha256File(file: string): string;
export function ensureNode(opts?: { log?: (m: string) => void }): string;
export function emulatorCommand(nodeArgs: string[], opts?: { cpu?: string }): { file: string; args: string[]; qemu: string; sysroot: string; node: string };
export function nodeDir(): string;
