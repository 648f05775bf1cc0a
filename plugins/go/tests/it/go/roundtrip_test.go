// Round trips through the Go code protoreg-plugin-go generated for the test
// corpus: binary and JSON encoding, proto2 defaults and extensions, custom
// options read back from the embedded descriptor, and gRPC over bufconn.
package roundtrip

import (
	"context"
	"io"
	"math"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	commonv1 "example.com/acme/common/v1"
	"example.com/acme/legacy"
	"example.com/acme/legacy/names"
	shopv1 "example.com/acme/shop/v1"
)

func product(t *testing.T) *shopv1.Product {
	details, err := anypb.New(&commonv1.Money{CurrencyCode: "EUR", Units: 3})
	if err != nil {
		t.Fatal(err)
	}
	attributes, err := structpb.NewStruct(map[string]interface{}{"k": "v", "n": 1.5})
	if err != nil {
		t.Fatal(err)
	}
	return &shopv1.Product{
		Id:          "p1",
		DisplayName: "Widget",
		Kind:        shopv1.Product_KIND_DIGITAL,
		Price:       &commonv1.Money{CurrencyCode: "EUR", Units: 12, Nanos: 500000000},
		Images: []*shopv1.Product_Image{{
			Url: "u", Width: 1, Height: 2,
			Thumbnails: []*shopv1.Product_Image_Thumbnail{{Url: "t"}},
		}},
		Labels:       map[string]string{"a": "b"},
		ImagesBySlot: map[int32]*shopv1.Product_Image{3: {Url: "slot"}},
		Prices:       map[string]*commonv1.Money{"usd": {CurrencyCode: "USD", Units: 13}},
		CreatedAt:    timestamppb.New(time.Unix(1700000000, 5)),
		Ttl:          durationpb.New(90 * time.Second),
		Details:      details,
		Attributes:   attributes,
		Extra:        structpb.NewStringValue("x"),
		Note:         wrapperspb.String("note"),
		Stock:        wrapperspb.Int64(7),
		Status:       commonv1.Status_STATUS_ACTIVE,
		Pricing:      &shopv1.Product_Formula{Formula: "a+b"},
		Availability: &shopv1.Product_RestockAt{RestockAt: timestamppb.New(time.Unix(1800000000, 0))},
		Featured:     proto.Bool(true),
		Meta:         map[string]*structpb.Value{"m": structpb.NewBoolValue(true)},
	}
}

func scalars() *shopv1.Scalars {
	return &shopv1.Scalars{
		FDouble: 1.25, FFloat: -2.5, FInt32: -3, FInt64: -4, FUint32: 5, FUint64: 6,
		FSint32: -7, FSint64: -8, FFixed32: 9, FFixed64: 10, FSfixed32: -11, FSfixed64: -12,
		FBool: true, FString: "s", FBytes: []byte{0, 1, 2},
		RInt32: []int32{1, -2}, RString: []string{"a", "b"}, RBytes: [][]byte{{3}},
		RDouble: []float64{math.Pi}, OInt32: proto.Int32(0), OString: proto.String(""),
		OBytes: []byte{}, OStatus: commonv1.Status_STATUS_DISABLED.Enum(),
	}
}

func roundTrip(t *testing.T, m proto.Message) {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back := m.ProtoReflect().New().Interface()
	if err := proto.Unmarshal(b, back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m, back) {
		t.Fatalf("binary round trip changed the message:\n%v\n%v", m, back)
	}
	j, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON := m.ProtoReflect().New().Interface()
	if err := protojson.Unmarshal(j, fromJSON); err != nil {
		t.Fatalf("%v in %s", err, j)
	}
	if !proto.Equal(m, fromJSON) {
		t.Fatalf("JSON round trip changed the message:\n%s", j)
	}
}

func TestRoundTrips(t *testing.T) {
	roundTrip(t, product(t))
	roundTrip(t, scalars())
	roundTrip(t, &shopv1.Product{Pricing: &shopv1.Product_Fixed{Fixed: &commonv1.Money{Units: 1}}})
	roundTrip(t, &shopv1.Product{Pricing: &shopv1.Product_KindBased{KindBased: shopv1.Product_KIND_PHYSICAL}})
	roundTrip(t, &shopv1.Product{Pricing: &shopv1.Product_Blob{Blob: []byte("b")}, Availability: &shopv1.Product_InStock{InStock: true}})
	roundTrip(t, &shopv1.ListProductsResponse{Products: []*shopv1.Product{product(t)}, NextPageToken: "n"})
	roundTrip(t, &legacy.Settings{
		Name: proto.String("n"), Ids: []int32{1, 2}, Extra: &legacy.Settings_Extra{Note: proto.String("g")},
		Child: &legacy.Settings{Name: proto.String("c")},
	})
	roundTrip(t, &legacy.Documented{A: proto.String("a"), Choice: &legacy.Documented_Number{Number: 4}, Level: legacy.Documented_LOW.Enum()})
}

func TestProto2DefaultsAndRequiredFields(t *testing.T) {
	s := &legacy.Settings{}
	if s.GetRetries() != 3 || s.GetGreeting() != "hello \"world\"\n" || string(s.GetMagic()) != "\x01\x02abc" {
		t.Fatalf("defaults: %d %q %q", s.GetRetries(), s.GetGreeting(), s.GetMagic())
	}
	if s.GetColor() != legacy.Color_GREEN || !math.IsInf(float64(s.GetInf()), 1) || !math.IsNaN(s.GetNotANumber()) {
		t.Fatal("enum or float defaults")
	}
	if s.GetUbig() != math.MaxUint64 || s.GetBig() != -9000000000 || s.GetExp() != 1e30 || !s.GetEnabled() {
		t.Fatal("integer or bool defaults")
	}
	d := &legacy.Documented{}
	if d.GetH() != float32(0.1) || d.GetLevel() != legacy.Documented_HIGH || d.GetC() != legacy.Color_BLUE {
		t.Fatal("Documented defaults")
	}
	if _, err := proto.Marshal(s); err == nil {
		t.Fatal("a missing required field must fail to marshal")
	}
}

func TestExtensions(t *testing.T) {
	s := &legacy.Settings{Name: proto.String("n")}
	proto.SetExtension(s, legacy.E_Priority, int32(9))
	proto.SetExtension(s, legacy.E_Tags, []string{"x", "y"})
	proto.SetExtension(s, legacy.E_Holder_HolderNote, "note")
	proto.SetExtension(s, legacy.E_Documented, &legacy.Documented{A: proto.String("ext")})
	b, err := proto.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back := &legacy.Settings{}
	if err := proto.Unmarshal(b, back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(s, back) || proto.GetExtension(back, legacy.E_Priority).(int32) != 9 {
		t.Fatal("extensions did not round trip")
	}
	if got := proto.GetExtension(&legacy.Settings{}, legacy.E_Priority).(int32); got != 5 {
		t.Fatalf("extension default: %d", got)
	}
}

func TestCustomOptionsInEmbeddedDescriptor(t *testing.T) {
	file := shopv1.File_acme_shop_v1_shop_proto
	if owner := proto.GetExtension(file.Options(), shopv1.E_Owner).(string); owner != "team-shop" {
		t.Fatalf("file option: %q", owner)
	}
	id := (&shopv1.Product{}).ProtoReflect().Descriptor().Fields().ByName("id")
	if !proto.GetExtension(id.Options(), shopv1.E_Sensitive).(bool) {
		t.Fatal("field option sensitive")
	}
	resource := proto.GetExtension((&shopv1.Product{}).ProtoReflect().Descriptor().Options(), shopv1.E_Resource).(*shopv1.Resource)
	if resource.GetType() != "shop/Product" {
		t.Fatalf("message option: %v", resource)
	}
}

func TestNameConflictsRoundTrip(t *testing.T) {
	m := &names.Conflicts{}
	in := `{"reset":"a","getName":"b","name":"c","descriptor":"d","Underscore":"e","string":"f","x1":7,"nested":8}`
	if err := protojson.Unmarshal([]byte(in), m); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, m)
	if m.GetNested() != 8 {
		t.Fatal("oneof member")
	}
}

// grpc 1.33's default codec marshals with github.com/golang/protobuf, which
// Debian ships as 1.3 (it predates the protobuf-go API the generated code
// uses). This codec does the same job with protobuf-go.
type protoCodec struct{}

func (protoCodec) Marshal(v interface{}) ([]byte, error) { return proto.Marshal(v.(proto.Message)) }

func (protoCodec) Unmarshal(data []byte, v interface{}) error {
	return proto.Unmarshal(data, v.(proto.Message))
}

func (protoCodec) Name() string { return "proto" }

func init() { encoding.RegisterCodec(protoCodec{}) }

type shopServer struct {
	shopv1.UnimplementedShopServiceServer
	t *testing.T
}

func (s *shopServer) GetProduct(_ context.Context, in *shopv1.GetProductRequest) (*shopv1.Product, error) {
	p := product(s.t)
	p.Id = in.GetId()
	return p, nil
}

func (s *shopServer) ListProducts(in *shopv1.ListProductsRequest, stream shopv1.ShopService_ListProductsServer) error {
	for i := int32(0); i < in.GetPageSize(); i++ {
		if err := stream.Send(&shopv1.Product{Id: in.GetPageToken()}); err != nil {
			return err
		}
	}
	return nil
}

func (s *shopServer) UploadProducts(stream shopv1.ShopService_UploadProductsServer) error {
	for {
		if _, err := stream.Recv(); err == io.EOF {
			return stream.SendAndClose(&emptypb.Empty{})
		} else if err != nil {
			return err
		}
	}
}

func (s *shopServer) Sync(stream shopv1.ShopService_SyncServer) error {
	for {
		p, err := stream.Recv()
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := stream.Send(p); err != nil {
			return err
		}
	}
}

func TestGRPCOverBufconn(t *testing.T) {
	listener := bufconn.Listen(1 << 20)
	server := grpc.NewServer()
	shopv1.RegisterShopServiceServer(server, &shopServer{t: t})
	go server.Serve(listener)
	defer server.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, "bufnet", grpc.WithInsecure(),
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return listener.Dial() }))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := shopv1.NewShopServiceClient(conn)

	got, err := client.GetProduct(ctx, &shopv1.GetProductRequest{Id: "p9"})
	if err != nil || got.GetId() != "p9" || !proto.Equal(got.GetPrice(), product(t).GetPrice()) {
		t.Fatalf("unary: %v %v", got, err)
	}

	list, err := client.ListProducts(ctx, &shopv1.ListProductsRequest{PageSize: 3, PageToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for {
		p, err := list.Recv()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.GetId() != "t" {
			t.Fatal("server stream content")
		}
		count++
	}
	if count != 3 {
		t.Fatalf("server stream: %d messages", count)
	}

	upload, err := client.UploadProducts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := upload.Send(&shopv1.Product{Id: "u"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := upload.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}

	sync, err := client.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sync.Send(&shopv1.Product{Id: "echo"}); err != nil {
		t.Fatal(err)
	}
	echoed, err := sync.Recv()
	if err != nil || echoed.GetId() != "echo" {
		t.Fatalf("bidi: %v %v", echoed, err)
	}
	sync.CloseSend()

	if _, err := client.Old(ctx, &shopv1.Empty{}); err == nil {
		t.Fatal("an unimplemented method must fail")
	}
}
