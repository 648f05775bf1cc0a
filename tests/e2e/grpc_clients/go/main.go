// A protoregistry Go client (stubs from protoc-gen-go and protoc-gen-go-grpc)
// against a real protoreg server: every method the issue names, with the
// answers and status codes checked. Usage: client ADDR
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	registrypb "example.com/acme/protoregistry/v1"
)

// codec marshals with protobuf-go's v2 API. Debian's grpc-go 1.33 defaults
// to the github.com/golang/protobuf 1.3 codec, which predates the v2 API
// that protoc-gen-go 1.28 generates for; a current grpc-go does this itself.
type codec struct{}

func (codec) Marshal(v interface{}) ([]byte, error) { return proto.Marshal(v.(proto.Message)) }
func (codec) Unmarshal(data []byte, v interface{}) error {
	return proto.Unmarshal(data, v.(proto.Message))
}
func (codec) Name() string { return "proto" }

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func want(err error, code codes.Code, what string) {
	if status.Code(err) != code {
		fail("%s: want %v, got %v (%v)", what, code, status.Code(err), err)
	}
}

const moneyV1 = "syntax = \"proto3\";\npackage gshop;\nmessage Money {\n  string currency = 1;\n  int64 units = 2;\n}\n"
const moneyV2 = "syntax = \"proto3\";\npackage gshop;\nmessage Money {\n  string currency = 1;\n  int64 units = 2;\n  int32 nanos = 3;\n}\n"

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, os.Args[1], grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(codec{})))
	if err != nil {
		fail("dial: %v", err)
	}
	defer conn.Close()
	c := registrypb.NewRegistryServiceClient(conn)

	_, err = c.CreateNamespace(ctx, &registrypb.CreateNamespaceRequest{Id: "gshop", Metadata: map[string]string{"lang": "go"}})
	want(err, codes.OK, "create")
	_, err = c.CreateNamespace(ctx, &registrypb.CreateNamespaceRequest{Id: "gshop"})
	want(err, codes.AlreadyExists, "create twice")

	pub, err := c.Publish(ctx, &registrypb.PublishRequest{NamespaceId: "gshop", SchemaId: "money", Sources: map[string][]byte{"gshop/money.proto": []byte(moneyV1)}})
	want(err, codes.OK, "publish")
	if pub.Version != 1 || pub.NoChange || pub.Fingerprint == "" {
		fail("publish: %v", pub)
	}
	_, err = c.Publish(ctx, &registrypb.PublishRequest{NamespaceId: "gshop", SchemaId: "money", Sources: map[string][]byte{"gshop/money.proto": []byte("syntax = \"proto3\";\nmessage {")}})
	want(err, codes.InvalidArgument, "a compile error")
	_, err = c.GetDescriptor(ctx, &registrypb.GetDescriptorRequest{NamespaceId: "gshop", SchemaId: "money"})
	want(err, codes.NotFound, "nothing current")

	promoted, err := c.Promote(ctx, &registrypb.PromoteRequest{NamespaceId: "gshop"})
	want(err, codes.OK, "promote")
	if len(promoted.Promoted) != 1 || promoted.Promoted[0].SchemaId != "money" || promoted.Promoted[0].CurrentVersion != 1 {
		fail("promoted: %v", promoted)
	}
	desc, err := c.GetDescriptor(ctx, &registrypb.GetDescriptorRequest{NamespaceId: "gshop", SchemaId: "money"})
	want(err, codes.OK, "descriptor")
	if desc.Version != 1 || len(desc.FileDescriptorSet.File) != 1 || desc.FileDescriptorSet.File[0].GetName() != "gshop/money.proto" {
		fail("descriptor: %v", desc)
	}
	if desc.FileDescriptorSet.File[0].MessageType[0].GetName() != "Money" {
		fail("descriptor message: %v", desc.FileDescriptorSet.File[0])
	}
	src, err := c.GetSource(ctx, &registrypb.GetSourceRequest{NamespaceId: "gshop", SchemaId: "money", Version: 1})
	want(err, codes.OK, "source")
	if string(src.Sources["gshop/money.proto"]) != moneyV1 {
		fail("source: %v", src)
	}

	_, err = c.Publish(ctx, &registrypb.PublishRequest{NamespaceId: "gshop", SchemaId: "money", Sources: map[string][]byte{"gshop/money.proto": []byte(moneyV2)}})
	want(err, codes.OK, "publish v2")
	_, err = c.Promote(ctx, &registrypb.PromoteRequest{NamespaceId: "gshop"})
	want(err, codes.OK, "promote v2")
	_, err = c.Rollback(ctx, &registrypb.RollbackRequest{NamespaceId: "gshop", SchemaId: "money", Version: 1})
	want(err, codes.FailedPrecondition, "an incompatible rollback")
	_, err = c.Rollback(ctx, &registrypb.RollbackRequest{NamespaceId: "gshop", SchemaId: "money", Version: 1, Force: true})
	want(err, codes.OK, "a forced rollback")
	schema, err := c.GetSchema(ctx, &registrypb.GetSchemaRequest{NamespaceId: "gshop", SchemaId: "money"})
	want(err, codes.OK, "schema")
	if schema.Schema.GetCurrentVersion() != 2 || schema.Schema.StagedVersion == nil || schema.Schema.GetStagedVersion() != 1 {
		fail("schema after rollback: %v", schema)
	}
	_, err = c.DiscardStaging(ctx, &registrypb.DiscardStagingRequest{NamespaceId: "gshop"})
	want(err, codes.OK, "discard")
	schema, _ = c.GetSchema(ctx, &registrypb.GetSchemaRequest{NamespaceId: "gshop", SchemaId: "money"})
	if schema.Schema.StagedVersion != nil {
		fail("schema after discard: %v", schema)
	}

	for i := 0; i < 3; i++ {
		_, err = c.Publish(ctx, &registrypb.PublishRequest{NamespaceId: "gshop", SchemaId: fmt.Sprintf("x%d", i), Sources: map[string][]byte{fmt.Sprintf("x%d.proto", i): []byte(fmt.Sprintf("syntax = \"proto3\";\npackage x%d;\n", i))}})
		want(err, codes.OK, "publish x")
	}
	var ids []string
	token := ""
	pages := 0
	for {
		page, err := c.ListSchemas(ctx, &registrypb.ListSchemasRequest{NamespaceId: "gshop", PageSize: 3, PageToken: token})
		want(err, codes.OK, "list schemas")
		pages++
		for _, s := range page.Schemas {
			ids = append(ids, s.SchemaId)
		}
		token = page.NextPageToken
		if token == "" {
			break
		}
	}
	if pages != 2 || fmt.Sprint(ids) != "[money x0 x1 x2]" {
		fail("pages %d: %v", pages, ids)
	}
	nss, err := c.ListNamespaces(ctx, &registrypb.ListNamespacesRequest{})
	want(err, codes.OK, "list namespaces")
	found := false
	for _, ns := range nss.Namespaces {
		if ns.Id == "gshop" && ns.Metadata["lang"] == "go" {
			found = true
		}
	}
	if !found {
		fail("namespaces: %v", nss)
	}
	fmt.Println("go client: all checks passed")
}
