// Types of kernel-tests.mjs (plain JavaScript: build-kit.mjs imports it without a TypeScript loader).
export const KERNEL_TESTS: string[];
export const KERNEL_TEST_SECONDS: Record<string, number>;
export function shardFiles(names: string[], count: number): string[][];
export const OTHER_TESTS: Record<string, string>;
