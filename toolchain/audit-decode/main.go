// audit-decode reads one audit.k8s.io/v1 EventList (or a single Event) as JSON on stdin and
// decodes it the way Kubernetes does: through the audit API group's own scheme and codec,
// strictly, so an unknown, duplicated or mistyped field is an error rather than silently
// dropped. It then converts the object to the internal audit types and back (the conversions
// kube-apiserver's audit backends run) and prints the re-encoded JSON on stdout.
//
// kubegate's tests pipe their audit export through it: what it accepts, a real audit pipeline
// built on these types accepts too, and a round trip that changes nothing shows no field of
// ours is lost or reinterpreted.
//
// Exit status: 0 decoded; 1 the input is not a valid audit.k8s.io/v1 object (every problem is
// named on stderr, one per line); 2 usage or I/O error.
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apiserver/pkg/apis/audit"
	"k8s.io/apiserver/pkg/apis/audit/install"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println(apiserverVersion())
		return
	}
	if len(os.Args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: audit-decode [--version] < eventlist.json")
		os.Exit(2)
	}
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "audit-decode: reading stdin: %v\n", err)
		os.Exit(2)
	}
	out, problems := decode(data)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(os.Stderr, "audit-decode: %s\n", p)
		}
		os.Exit(1)
	}
	os.Stdout.Write(out)
}

// The version of k8s.io/apiserver this binary was built with: the schema it checks against.
func apiserverVersion() string {
	info, ok := debug.ReadBuildInfo()
	if ok {
		for _, dep := range info.Deps {
			if dep.Path == "k8s.io/apiserver" {
				if dep.Replace != nil {
					return dep.Path + " " + dep.Replace.Version
				}
				return dep.Path + " " + dep.Version
			}
		}
	}
	return "k8s.io/apiserver unknown"
}

func decode(data []byte) ([]byte, []string) {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	// Strict: unknown and duplicate fields become errors (sigs.k8s.io/json's strict mode, as
	// kube-apiserver uses for its own strict decoding) instead of being dropped.
	codecs := serializer.NewCodecFactory(scheme, serializer.EnableStrict)

	obj, gvk, err := codecs.UniversalDeserializer().Decode(data, nil, nil)
	if err != nil {
		if strict, ok := runtime.AsStrictDecodingError(err); ok {
			var problems []string
			for _, e := range strict.Errors() {
				problems = append(problems, e.Error())
			}
			return nil, problems
		}
		return nil, []string{err.Error()}
	}
	if gvk.GroupVersion() != auditv1.SchemeGroupVersion {
		return nil, []string{fmt.Sprintf("apiVersion %q is not %s", gvk.GroupVersion().String(), auditv1.SchemeGroupVersion.String())}
	}

	var internal runtime.Object
	var problems []string
	switch typed := obj.(type) {
	case *auditv1.EventList:
		for i := range typed.Items {
			problems = append(problems, checkEvent(fmt.Sprintf("items[%d]", i), &typed.Items[i])...)
		}
		internal = &audit.EventList{}
	case *auditv1.Event:
		problems = append(problems, checkEvent("", typed)...)
		internal = &audit.Event{}
	default:
		return nil, []string{fmt.Sprintf("kind %q is not Event or EventList", gvk.Kind)}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	if err := scheme.Convert(obj, internal, nil); err != nil {
		return nil, []string{fmt.Sprintf("converting to the internal audit types: %v", err)}
	}
	// LegacyCodec converts the internal object back to v1 and sets kind and apiVersion, as the
	// apiserver's log and webhook audit backends do when they write events.
	var buf bytes.Buffer
	if err := codecs.LegacyCodec(auditv1.SchemeGroupVersion).Encode(internal, &buf); err != nil {
		return nil, []string{fmt.Sprintf("encoding: %v", err)}
	}
	return buf.Bytes(), nil
}

// What the Go types cannot say: the enumerations and required values the API documents.
func checkEvent(at string, e *auditv1.Event) []string {
	field := func(name string) string {
		if at == "" {
			return name
		}
		return at + "." + name
	}
	var problems []string
	switch e.Level {
	case auditv1.LevelNone, auditv1.LevelMetadata, auditv1.LevelRequest, auditv1.LevelRequestResponse:
	default:
		problems = append(problems, fmt.Sprintf("%s: %q is not an audit level", field("level"), e.Level))
	}
	switch e.Stage {
	case auditv1.StageRequestReceived, auditv1.StageResponseStarted, auditv1.StageResponseComplete, auditv1.StagePanic:
	default:
		problems = append(problems, fmt.Sprintf("%s: %q is not an audit stage", field("stage"), e.Stage))
	}
	if e.AuditID == "" {
		problems = append(problems, fmt.Sprintf("%s: required", field("auditID")))
	}
	if e.RequestReceivedTimestamp.IsZero() {
		problems = append(problems, fmt.Sprintf("%s: required", field("requestReceivedTimestamp")))
	}
	if e.StageTimestamp.IsZero() {
		problems = append(problems, fmt.Sprintf("%s: required", field("stageTimestamp")))
	} else if e.StageTimestamp.Before(&e.RequestReceivedTimestamp) {
		problems = append(problems, fmt.Sprintf("%s: before requestReceivedTimestamp", field("stageTimestamp")))
	}
	for key := range e.Annotations {
		// Annotation keys are qualified names (prefix/name), as on any Kubernetes object.
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			problems = append(problems, fmt.Sprintf("%s: %q: %s", field("annotations"), key, strings.Join(errs, "; ")))
		}
	}
	return problems
}
