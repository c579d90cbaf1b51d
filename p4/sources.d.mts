/** Types of p4/sources.mjs. */
export declare const p4Dir: string;
export declare function p4Sources(dir?: string): string[];
export declare function sha256(path: string): string;
