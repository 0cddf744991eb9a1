import type { Command } from 'commander';

/** switchboard completion bash|zsh. */
export function registerCompletionCommand(_program: Command): void {}
