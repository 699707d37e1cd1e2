#include "nft/element_codec.h"

#include <catch2/catch.hpp>

namespace ipo::nft {
namespace {

Ipv4 V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return Ipv4{(uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d};
}

TEST_CASE("concatenated key types are joined 6 bits each as nft does") {
  // nft --debug=mnl for `type ipv4_addr . inet_proto . inet_service` sends 0x730d, len 12.
  std::vector<Type> key{Type::kIpv4Addr, Type::kInetProto, Type::kInetService};
  CHECK(ConcatTypeId(key) == 0x730d);
  CHECK(ConcatLen(key) == 12);
  // `inet_proto . inet_service : ipv6_addr . inet_service`: key 0x30d/8, data 0x20d/20.
  CHECK(ConcatTypeId({Type::kInetProto, Type::kInetService}) == 0x30d);
  CHECK(ConcatLen({Type::kInetProto, Type::kInetService}) == 8);
  CHECK(ConcatTypeId({Type::kIpv6Addr, Type::kInetService}) == 0x20d);
  CHECK(ConcatLen({Type::kIpv6Addr, Type::kInetService}) == 20);
  CHECK(ConcatLen({Type::kInetService}) == 2);
  CHECK(ConcatLen({Type::kIfName}) == 16);

  auto split = SplitConcatTypeId(0x730d, 12);
  REQUIRE(split.ok());
  CHECK(*split == key);
  CHECK(SplitConcatTypeId(0x730d, 9).status().message() == "nft type 29453 does not have length 9");
  CHECK(SplitConcatTypeId(5, 4).status().message() == "unsupported nft datatype id 5 in type 5");
}

TEST_CASE("concatenation components are padded to 4 bytes") {
  auto b = EncodeValues({Type::kIpv4Addr, Type::kInetProto, Type::kInetService},
                        {V4(172, 30, 1, 2), Proto{6}, Port{80}});
  REQUIRE(b.ok());
  CHECK(*b == Bytes{172, 30, 1, 2, 6, 0, 0, 0, 0, 80, 0, 0});
  auto back = DecodeValues({Type::kIpv4Addr, Type::kInetProto, Type::kInetService}, *b);
  REQUIRE(back.ok());
  CHECK(*back == std::vector<Value>{V4(172, 30, 1, 2), Proto{6}, Port{80}});
}

TEST_CASE("single values are not padded; ifname is NUL-padded to 16") {
  CHECK(*EncodeValues({Type::kInetService}, {Port{8080}}) == Bytes{0x1f, 0x90});
  CHECK(*EncodeValues({Type::kInetProto}, {Proto{17}}) == Bytes{17});
  Bytes ifname = *EncodeValues({Type::kIfName}, {IfName{"eth0"}});
  CHECK(ifname.size() == 16);
  CHECK(ifname[3] == '0');
  CHECK(ifname[4] == 0);
  CHECK(std::get<IfName>(DecodeValues({Type::kIfName}, ifname)->at(0)).name == "eth0");
  CHECK(EncodeValues({Type::kIfName}, {IfName{"0123456789abcdef"}}).status().message() ==
        "interface name \"0123456789abcdef\" must have 1 to 15 bytes");
  CHECK(EncodeValues({Type::kIpv4Addr}, {Port{1}}).status().message() ==
        "a port is not a value of type ipv4_addr");
  CHECK(EncodeValues({Type::kIpv4Addr}, {}).status().message() == "expected 1 values, got 0");
}

TEST_CASE("an interval element is its start and the end after its last member") {
  Set set{"lan-allow-v4", {Type::kIpv4Addr}, {}, true, {}, ""};
  auto raw = EncodeElement(set, Element{{V4(192, 168, 1, 1)}, {{V4(192, 168, 1, 30)}}, {}});
  REQUIRE(raw.ok());
  REQUIRE(raw->size() == 2);
  CHECK((*raw)[0].key == Bytes{192, 168, 1, 1});
  CHECK_FALSE((*raw)[0].interval_end);
  CHECK((*raw)[1].key == Bytes{192, 168, 1, 31});
  CHECK((*raw)[1].interval_end);

  // A single address is the range [a, a]; the largest address has no end element.
  CHECK(EncodeElement(set, Element{{V4(10, 0, 0, 5)}, {}, {}})->size() == 2);
  CHECK(EncodeElement(set, Element{{V4(255, 255, 255, 255)}, {}, {}})->size() == 1);
  CHECK(EncodeElement(set, Element{{V4(10, 0, 0, 9)}, {{V4(10, 0, 0, 1)}}, {}}).status().message() ==
        "set lan-allow-v4: range 10.0.0.9-10.0.0.1 ends before it starts");
}

TEST_CASE("kernel interval elements, in the kernel's reverse order, decode to ranges") {
  Set set{"lan-allow-v4", {Type::kIpv4Addr}, {}, true, {}, ""};
  // As an rbtree dump returns them: descending, with nft's leading 0.0.0.0 end.
  std::vector<RawElement> raw{
      {{255, 255, 255, 0}, {}, false},
      {{192, 168, 1, 31}, {}, true}, {{192, 168, 1, 1}, {}, false},
      {{10, 0, 0, 6}, {}, true},     {{10, 0, 0, 5}, {}, false},
      {{0, 0, 0, 0}, {}, true},
  };
  auto elems = DecodeElements(set, raw);
  REQUIRE(elems.ok());
  REQUIRE(elems->size() == 3);
  CHECK((*elems)[0] == Element{{V4(10, 0, 0, 5)}, std::nullopt, {}});
  CHECK((*elems)[1] == Element{{V4(192, 168, 1, 1)}, {{V4(192, 168, 1, 30)}}, {}});
  CHECK((*elems)[2] == Element{{V4(255, 255, 255, 0)}, {{V4(255, 255, 255, 255)}}, {}});
}

TEST_CASE("adjacent ranges share a boundary key and still decode apart") {
  Set set{"s", {Type::kIpv4Addr}, {}, true, {}, ""};
  std::vector<RawElement> raw{
      {{10, 0, 0, 1}, {}, false}, {{10, 0, 0, 5}, {}, true},
      {{10, 0, 0, 5}, {}, false}, {{10, 0, 0, 9}, {}, true},
  };
  auto elems = DecodeElements(set, raw);
  REQUIRE(elems.ok());
  REQUIRE(elems->size() == 2);
  CHECK((*elems)[0].key_end == std::vector<Value>{V4(10, 0, 0, 4)});
  CHECK((*elems)[1].key == std::vector<Value>{V4(10, 0, 0, 5)});
}

TEST_CASE("map elements carry their data") {
  Set map{"dnat-v4", {Type::kInetProto, Type::kInetService}, {Type::kIpv4Addr, Type::kInetService},
          false, {}, ""};
  Element e{{Proto{6}, Port{8080}}, std::nullopt, {V4(172, 30, 1, 2), Port{80}}};
  auto raw = EncodeElement(map, e);
  REQUIRE(raw.ok());
  REQUIRE(raw->size() == 1);
  CHECK((*raw)[0].key == Bytes{6, 0, 0, 0, 0x1f, 0x90, 0, 0});
  CHECK((*raw)[0].data == Bytes{172, 30, 1, 2, 0, 80, 0, 0});
  auto back = DecodeElements(map, *raw);
  REQUIRE(back.ok());
  CHECK(back->at(0) == e);
}

}  // namespace
}  // namespace ipo::nft
