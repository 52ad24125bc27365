// request-info is the oracle for kubegate's request parser: it reads requests and answers with
// the RequestInfo that kube-apiserver derives for each, using k8s.io/apiserver's own
// RequestInfoFactory at the pinned Kubernetes version rather than a restatement of it.
//
// Input: JSON lines on stdin, one request each:
//
//	{"method": "GET", "path": "/api/v1/namespaces/a/pods", "query": "watch=1"}
//
// path is the request target's path exactly as it would appear on the wire (escapes and all);
// query is the raw text after '?', and is omitted or null when the target has no '?'.
//
// Output: one JSON line per input line, in order. Either the RequestInfo fields, or an error
// with the stage that produced it: "http" when Go's HTTP/1.1 server would not accept the
// request at all (kube-apiserver answers 400 before any of its handlers run), "requestinfo"
// when NewRequestInfo fails (kube-apiserver answers 500), "input" for a line that is not a
// request. The process stays up until stdin closes, so a test can send thousands of requests
// through one process.
//
// The request is not built field by field: its HTTP/1.1 bytes are handed to net/http's
// ReadRequest, the parser kube-apiserver's server runs on every connection (kubegate's edge
// reaches kube-apiserver over HTTP/1.1), so URL decoding, method checks and the split of path
// and query are Go's own.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/server"
	"k8s.io/klog/v2"
)

type input struct {
	Method string  `json:"method"`
	Path   string  `json:"path"`
	Query  *string `json:"query"`
}

// What kube-apiserver would do with a request it does not get as far as authorizing.
type failure struct {
	Error string `json:"error"`
	Stage string `json:"stage"`
}

type output struct {
	IsResourceRequest bool     `json:"isResourceRequest"`
	Path              string   `json:"path"`
	Verb              string   `json:"verb"`
	APIPrefix         string   `json:"apiPrefix"`
	APIGroup          string   `json:"apiGroup"`
	APIVersion        string   `json:"apiVersion"`
	Namespace         string   `json:"namespace"`
	Resource          string   `json:"resource"`
	Subresource       string   `json:"subresource"`
	Name              string   `json:"name"`
	Parts             []string `json:"parts"`
	// Set by kube since AuthorizeWithSelectors (on by default in 1.34) for list, watch and
	// deletecollection; reported for completeness.
	FieldSelector string `json:"fieldSelector"`
	LabelSelector string `json:"labelSelector"`
	// JSON carries text, so encoding/json writes each byte of a string that is not valid UTF-8
	// as U+FFFD; a name from a field selector can be any bytes. The fields whose value was
	// changed that way are named here, so a reader knows the value shown is not kube's.
	InvalidUTF8 []string `json:"invalidUtf8,omitempty"`
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println(apiserverVersion())
		return
	}
	if len(os.Args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: request-info [--version] < requests.jsonl")
		os.Exit(2)
	}
	// NewRequestInfo logs every query it cannot decode; the answer already says what happened,
	// and thousands of log lines on stderr would only bury real failures.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)

	factory := newFactory()
	in := bufio.NewScanner(os.Stdin)
	// Queries near Go's parameter limit are long; a line is one request, however long.
	in.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		var req input
		var res any
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			res = failure{Error: err.Error(), Stage: "input"}
		} else {
			res = resolve(factory, req)
		}
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(os.Stderr, "request-info: writing stdout: %v\n", err)
			os.Exit(2)
		}
		// One answer per line as soon as it is ready: the caller may wait for it before sending more.
		if err := out.Flush(); err != nil {
			fmt.Fprintf(os.Stderr, "request-info: writing stdout: %v\n", err)
			os.Exit(2)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "request-info: reading stdin: %v\n", err)
		os.Exit(2)
	}
}

// The factory exactly as kube-apiserver builds it: server.NewRequestInfoResolver over a Config
// whose legacy prefix is kube-apiserver's ("/api"; "/apis" is always added). Going through
// NewRequestInfoResolver rather than filling the struct by hand keeps the oracle right if the
// way kube derives the prefixes ever changes.
func newFactory() *request.RequestInfoFactory {
	config := &server.Config{LegacyAPIGroupPrefixes: sets.NewString(server.DefaultLegacyAPIPrefix)}
	return server.NewRequestInfoResolver(config)
}

func resolve(factory *request.RequestInfoFactory, req input) any {
	target := req.Path
	if req.Query != nil {
		target += "?" + *req.Query
	}
	raw := req.Method + " " + target + " HTTP/1.1\r\nHost: kube-apiserver\r\n\r\n"
	httpReq, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		return failure{Error: err.Error(), Stage: "http"}
	}
	// ReadRequest reads a request line whatever follows it; a target with a space or a line
	// break in it would have been cut short, which the server would then not see as this request.
	if httpReq.RequestURI != target || httpReq.Method != req.Method {
		return failure{Error: fmt.Sprintf("the request line does not carry this method and target (read %q %q)", httpReq.Method, httpReq.RequestURI), Stage: "http"}
	}
	info, err := factory.NewRequestInfo(httpReq)
	if err != nil {
		return failure{Error: err.Error(), Stage: "requestinfo"}
	}
	parts := info.Parts
	if parts == nil {
		parts = []string{}
	}
	res := output{
		IsResourceRequest: info.IsResourceRequest,
		Path:              info.Path,
		Verb:              info.Verb,
		APIPrefix:         info.APIPrefix,
		APIGroup:          info.APIGroup,
		APIVersion:        info.APIVersion,
		Namespace:         info.Namespace,
		Resource:          info.Resource,
		Subresource:       info.Subresource,
		Name:              info.Name,
		Parts:             parts,
		FieldSelector:     info.FieldSelector,
		LabelSelector:     info.LabelSelector,
	}
	fields := map[string]string{
		"path": info.Path, "verb": info.Verb, "apiPrefix": info.APIPrefix, "apiGroup": info.APIGroup,
		"apiVersion": info.APIVersion, "namespace": info.Namespace, "resource": info.Resource,
		"subresource": info.Subresource, "name": info.Name, "fieldSelector": info.FieldSelector,
		"labelSelector": info.LabelSelector,
	}
	for _, part := range info.Parts {
		if !utf8.ValidString(part) {
			fields["parts"] = part
		}
	}
	for name, value := range fields {
		if !utf8.ValidString(value) {
			res.InvalidUTF8 = append(res.InvalidUTF8, name)
		}
	}
	sort.Strings(res.InvalidUTF8)
	return res
}

// The version of k8s.io/apiserver this binary was built with: the implementation it answers for.
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
