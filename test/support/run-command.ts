/** The harness's runCommand (dev/process/run-command.ts), where the tests have always found it. */
export * from '../../dev/process/run-command';
