// pulumi-resource-kubernetes, the Pulumi Kubernetes provider, built from the Go module
// github.com/pulumi/pulumi-kubernetes/provider/v4 (go.mod pins it). This is what upstream's
// provider/cmd/pulumi-resource-kubernetes/main.go does; it lives here because that main package
// embeds two files its go:generate step writes, which the module zip does not contain.
// toolchain/install.sh writes them next to this file in its build directory, from the module's
// schema.json and terraform-mapping.json, before it builds:
//   - schema-embed.json: schema.json with "version" set to the version the binary is labelled
//     with (-X .../pkg/version.Version), minified;
//   - terraform-mapping-embed.json: terraform-mapping.json, minified.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
