/**
 * The translator's output and the snapshot's input: every xDS resource for one Envoy, by type.
 * Each resource is a plain object in protobufjs "fromObject" form with the protos' snake_case
 * field names; a nested google.protobuf.Any is written { '@type': 'type.googleapis.com/<name>',
 * ...fields }. Plain data keeps the translator pure and its output readable as YAML.
 */
export interface XdsResources {
  readonly listeners: readonly object[];
  readonly routes: readonly object[];
  readonly clusters: readonly object[];
  readonly endpoints: readonly object[];
  readonly secrets: readonly object[];
}
