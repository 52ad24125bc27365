/** The harness's streamCommand and eventually (dev/process/streaming-command.ts), where the tests have always found them. */
export * from '../../dev/process/streaming-command';
