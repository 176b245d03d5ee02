"""network/template.yaml: the VPC whose NAT gateways give the outbound function fixed addresses.

The checks read the template as CloudFormation would deploy it for given parameters: conditions
decided, ``!If`` taken, parameters, ``!Cidr``, ``!Split`` and ``!Select`` evaluated; references to
resources, ``!GetAZs`` and the rest stay as `Tag`s.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import tomllib
from typing import Any

import pytest

from tests.template import ROOT, Tag, load, template

NETWORK = ROOT / "network" / "template.yaml"
ANYWHERE = "0.0.0.0/0"
PSEUDO_PARAMETERS = {"AWS::Region", "AWS::StackName", "AWS::AccountId", "AWS::NoValue", "AWS::Partition"}
# Every way the stack can be deployed that changes which resources exist.
VARIANTS: list[dict[str, str]] = [
    {},
    {"NatGateways": "1"},
    {"ElasticIpAllocationIds": "eipalloc-0a1,eipalloc-0b2"},
    {"NatGateways": "1", "ElasticIpAllocationIds": "eipalloc-0a1"},
    {"InterfaceEndpoints": "true"},
    {"FlowLogs": "REJECT"},
]


class Deployed:
    """The stack as deployed with ``overrides`` (the parameters' defaults otherwise)."""

    def __init__(self, **overrides: str) -> None:
        document = load(NETWORK)
        assert overrides.keys() <= document["Parameters"].keys(), overrides
        self.parameters = {
            name: str(overrides.get(name, body.get("Default", ""))) for name, body in document["Parameters"].items()
        }
        self._conditions: dict[str, Any] = document["Conditions"]
        self.resources: dict[str, dict[str, Any]] = {
            name: self._resolve(body)
            for name, body in document["Resources"].items()
            if "Condition" not in body or self.holds(body["Condition"])
        }
        self.outputs: dict[str, Any] = {
            name: self._resolve(body["Value"])
            for name, body in document["Outputs"].items()
            if "Condition" not in body or self.holds(body["Condition"])
        }

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: body for name, body in self.resources.items() if body["Type"] == kind}

    def properties(self, name: str) -> dict[str, Any]:
        properties: dict[str, Any] = self.resources[name]["Properties"]
        return properties

    def holds(self, condition: str) -> bool:
        return self._decide(self._conditions[condition])

    def _decide(self, expression: Tag) -> bool:
        arguments = expression.value
        match expression.name:
            case "Equals":
                left, right = (self._resolve(argument) for argument in arguments)
                return bool(left == right)
            case "Not":
                return not self._decide(arguments[0])
            case "And":
                return all(self._decide(argument) for argument in arguments)
            case "Or":
                return any(self._decide(argument) for argument in arguments)
            case "Condition":
                return self.holds(arguments)
        raise AssertionError(f"unexpected condition function {expression.name}")

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self._resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._resolve(item) for item in value]
        if not isinstance(value, Tag):
            return value
        if value.name == "If":
            condition, then, otherwise = value.value
            return self._resolve(then if self.holds(condition) else otherwise)
        if value.name == "Ref" and value.value in self.parameters:
            return self.parameters[value.value]
        return _evaluate(Tag(value.name, self._resolve(value.value)))


def _evaluate(function: Tag) -> Any:
    """``!Split``, ``!Select`` and ``!Cidr`` once their arguments are known; anything else as it is."""
    match function:
        case Tag("Split", [str() as separator, str() as text]):
            return text.split(separator)
        case Tag("Select", [index, list() as items]):
            return items[int(index)]
        case Tag("Cidr", [str() as block, count, bits]):
            subnets = ipaddress.IPv4Network(block).subnets(new_prefix=32 - int(bits))
            return [str(subnet) for subnet in subnets][: int(count)]
    return function


def _ref(value: Any) -> str:
    """The resource a ``!Ref`` or ``!GetAtt`` names."""
    assert isinstance(value, Tag), value
    assert value.name in {"Ref", "GetAtt"}, value
    return str(value.value).split(".", 1)[0]


def _default_route(stack: Deployed, subnet: str) -> dict[str, Any]:
    """The 0.0.0.0/0 route of the route table ``subnet`` is associated with."""
    (table,) = [
        _ref(association["Properties"]["RouteTableId"])
        for association in stack.of_type("AWS::EC2::SubnetRouteTableAssociation").values()
        if _ref(association["Properties"]["SubnetId"]) == subnet
    ]
    routes: list[dict[str, Any]] = [
        route["Properties"]
        for route in stack.of_type("AWS::EC2::Route").values()
        if _ref(route["Properties"]["RouteTableId"]) == table
        and route["Properties"]["DestinationCidrBlock"] == ANYWHERE
    ]
    (route,) = routes
    return route


def _egress_subnets(stack: Deployed) -> list[str]:
    joined = stack.outputs["EgressSubnetIds"]
    assert joined.name == "Join"
    separator, subnets = joined.value
    assert separator == ","
    return [_ref(subnet) for subnet in subnets]


def _egress_security_group(stack: Deployed) -> str:
    group = stack.outputs["EgressSecurityGroupIds"]
    assert group == Tag("GetAtt", f"{_ref(group)}.GroupId")
    return _ref(group)


def _private_route_tables(stack: Deployed) -> list[str]:
    return [
        _ref(association["Properties"]["RouteTableId"])
        for association in stack.of_type("AWS::EC2::SubnetRouteTableAssociation").values()
        if _ref(association["Properties"]["SubnetId"]) in _egress_subnets(stack)
    ]


def _list(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [name for item in value.values() for name in _references(item)]
    if isinstance(value, list):
        return [name for item in value for name in _references(item)]
    if isinstance(value, Tag) and value.name in {"Ref", "GetAtt"}:
        return [_ref(value)]
    if isinstance(value, Tag) and value.name == "Sub":
        return [name.split(".", 1)[0] for name in re.findall(r"\$\{([^}!]+)\}", value.value)]
    if isinstance(value, Tag):
        return _references(value.value)
    return []


@pytest.mark.parametrize("overrides", VARIANTS, ids=lambda overrides: ",".join(overrides) or "defaults")
def test_every_reference_names_something_deployed_alongside(overrides: dict[str, str]) -> None:
    # Given the stack deployed with some parameters
    stack = Deployed(**overrides)
    # Then whatever a resource or an output refers to exists in that same deployment
    for name, body in [*stack.resources.items(), *stack.outputs.items()]:
        for reference in _references(body):
            assert reference in stack.resources or reference in PSEUDO_PARAMETERS, (name, reference)
        for dependency in _list(body.get("DependsOn", []) if isinstance(body, dict) else []):
            assert dependency in stack.resources, (name, dependency)


def test_the_relay_is_given_two_private_subnets_in_different_zones() -> None:
    # Given the stack as deployed by default
    stack = Deployed()
    # When the relay takes its EgressSubnetIds output
    first, second = _egress_subnets(stack)
    # Then they are two subnets in the region's first two zones
    zones = [stack.properties(subnet)["AvailabilityZone"] for subnet in (first, second)]
    assert zones == [Tag("Select", [0, Tag("GetAZs", "")]), Tag("Select", [1, Tag("GetAZs", "")])]
    # And neither hands out public addresses
    assert not any(stack.properties(subnet).get("MapPublicIpOnLaunch") for subnet in (first, second))


@pytest.mark.parametrize("vpc_cidr", ["10.20.0.0/16", "172.31.64.0/22"])
def test_the_four_subnets_are_separate_blocks_of_the_vpc(vpc_cidr: str) -> None:
    # Given the largest and the smallest VPC the parameter accepts
    pattern = load(NETWORK)["Parameters"]["VpcCidr"]["AllowedPattern"]
    assert re.fullmatch(pattern, vpc_cidr)
    stack = Deployed(VpcCidr=vpc_cidr)
    # Then every subnet is a block of the VPC, and no two overlap
    blocks = [
        ipaddress.IPv4Network(body["Properties"]["CidrBlock"]) for body in stack.of_type("AWS::EC2::Subnet").values()
    ]
    assert len(blocks) == 4
    assert all(block.subnet_of(ipaddress.IPv4Network(vpc_cidr)) for block in blocks)
    assert not [(a, b) for i, a in enumerate(blocks) for b in blocks[i + 1 :] if a.overlaps(b)]


def test_a_vpc_too_small_for_four_subnets_is_refused() -> None:
    pattern = load(NETWORK)["Parameters"]["VpcCidr"]["AllowedPattern"]
    assert not re.fullmatch(pattern, "10.20.0.0/23")
    assert not re.fullmatch(pattern, "10.20.0.0/15")


def test_the_vpc_resolves_names_for_private_endpoints() -> None:
    (vpc,) = Deployed().of_type("AWS::EC2::VPC").values()
    assert vpc["Properties"]["EnableDnsSupport"] is True
    assert vpc["Properties"]["EnableDnsHostnames"] is True


@pytest.mark.parametrize("overrides", VARIANTS, ids=lambda overrides: ",".join(overrides) or "defaults")
def test_each_private_subnet_leaves_through_a_nat_gateway_never_the_internet_gateway(
    overrides: dict[str, str],
) -> None:
    # Given the stack deployed with some parameters
    stack = Deployed(**overrides)
    for subnet in _egress_subnets(stack):
        # When the subnet's traffic leaves the VPC
        route = _default_route(stack, subnet)
        # Then it goes through a NAT gateway, not straight to the internet gateway
        assert "GatewayId" not in route
        assert stack.resources[_ref(route["NatGatewayId"])]["Type"] == "AWS::EC2::NatGateway"


def test_with_two_nat_gateways_each_private_subnet_uses_its_own_zones() -> None:
    # Given two NAT gateways (the default)
    stack = Deployed()
    assert stack.parameters["NatGateways"] == "2"
    nat_gateways = [_ref(_default_route(stack, subnet)["NatGatewayId"]) for subnet in _egress_subnets(stack)]
    # Then the subnets use different ones, each in a public subnet of the subnet's own zone
    assert len(set(nat_gateways)) == 2
    for subnet, nat_gateway in zip(_egress_subnets(stack), nat_gateways, strict=True):
        public_subnet = _ref(stack.properties(nat_gateway)["SubnetId"])
        assert stack.properties(public_subnet)["AvailabilityZone"] == stack.properties(subnet)["AvailabilityZone"]


@pytest.mark.parametrize("overrides", VARIANTS, ids=lambda overrides: ",".join(overrides) or "defaults")
def test_each_nat_gateway_has_an_elastic_ip_and_sits_in_a_public_subnet(overrides: dict[str, str]) -> None:
    # Given the stack deployed with some parameters
    stack = Deployed(**overrides)
    given = [allocation for allocation in stack.parameters["ElasticIpAllocationIds"].split(",") if allocation]
    for index, (name, nat_gateway) in enumerate(stack.of_type("AWS::EC2::NatGateway").items()):
        properties = nat_gateway["Properties"]
        # Then it is public, with an address allocated here or one of those given
        assert properties.get("ConnectivityType", "public") == "public", name
        if given:
            assert properties["AllocationId"] == given[index], name
        else:
            allocation = properties["AllocationId"]
            assert allocation == Tag("GetAtt", f"{_ref(allocation)}.AllocationId"), name
            assert stack.resources[_ref(allocation)]["Type"] == "AWS::EC2::EIP", name
        # And its subnet routes to the internet gateway
        route = _default_route(stack, _ref(properties["SubnetId"]))
        assert stack.resources[_ref(route["GatewayId"])]["Type"] == "AWS::EC2::InternetGateway", name
        assert "NatGatewayId" not in route


def test_the_elastic_ips_outlive_the_stack() -> None:
    # Given the addresses the gateway allow-lists
    addresses = Deployed().of_type("AWS::EC2::EIP")
    assert len(addresses) == 2
    for name, address in addresses.items():
        # Then neither a stack delete nor a replacement releases them
        assert address["DeletionPolicy"] == "Retain", name
        assert address["UpdateReplacePolicy"] == "Retain", name
        assert address["Properties"]["Domain"] == "vpc", name


def test_with_one_nat_gateway_there_is_one_address_and_both_subnets_use_it() -> None:
    # Given one NAT gateway
    stack = Deployed(NatGateways="1")
    # Then there is one NAT gateway and one address
    (nat_gateway,) = stack.of_type("AWS::EC2::NatGateway")
    (address,) = stack.of_type("AWS::EC2::EIP")
    # And both private subnets leave through it
    assert {_ref(_default_route(stack, subnet)["NatGatewayId"]) for subnet in _egress_subnets(stack)} == {nat_gateway}
    # And the output lists that one address only
    assert stack.outputs["ElasticIps"] == Tag("Ref", address)


def test_with_two_nat_gateways_the_output_lists_both_addresses() -> None:
    stack = Deployed(NatGateways="2")
    assert stack.outputs["ElasticIps"] == Tag(
        "Join", [",", [Tag("Ref", name) for name in stack.of_type("AWS::EC2::EIP")]]
    )


def test_given_allocations_are_used_instead_of_new_addresses() -> None:
    # Given the allocations a previous network stack kept
    stack = Deployed(ElasticIpAllocationIds="eipalloc-0a1,eipalloc-0b2")
    # Then no address is allocated and the NAT gateways use those given
    assert not stack.of_type("AWS::EC2::EIP")
    allocations = [body["Properties"]["AllocationId"] for body in stack.of_type("AWS::EC2::NatGateway").values()]
    assert allocations == ["eipalloc-0a1", "eipalloc-0b2"]
    # And there is no ElasticIps output to mislead (the addresses are the ones the gateway has)
    assert "ElasticIps" not in stack.outputs


def test_dynamodb_and_s3_are_reached_through_gateway_endpoints_from_every_private_subnet() -> None:
    # Given the stack as deployed by default
    stack = Deployed()
    private_route_tables = _private_route_tables(stack)
    assert len(private_route_tables) == 2
    endpoints = {
        body["Properties"]["ServiceName"].value: body["Properties"]
        for body in stack.of_type("AWS::EC2::VPCEndpoint").values()
    }
    # Then both services have a gateway endpoint on every private route table
    for service in ("dynamodb", "s3"):
        endpoint = endpoints[f"com.amazonaws.${{AWS::Region}}.{service}"]
        assert endpoint["VpcEndpointType"] == "Gateway"
        assert sorted(_ref(table) for table in endpoint["RouteTableIds"]) == sorted(private_route_tables)


def test_the_functions_security_group_admits_nothing_and_lets_out_https_and_mm4_only() -> None:
    # Given the group the relay's functions are given
    stack = Deployed()
    group = _egress_security_group(stack)
    properties = stack.properties(group)
    # Then nothing may connect to them
    assert "SecurityGroupIngress" not in properties
    assert not [
        name
        for name, body in stack.of_type("AWS::EC2::SecurityGroupIngress").items()
        if _ref(body["Properties"]["GroupId"]) == group
    ]
    # And they may connect out to HTTPS and to the MM4 port only
    rules = [
        (rule["IpProtocol"], int(rule["FromPort"]), int(rule["ToPort"]), rule["CidrIp"])
        for rule in properties["SecurityGroupEgress"]
    ]
    assert sorted(rules) == [("tcp", 443, 443, ANYWHERE), ("tcp", 587, 587, ANYWHERE)]
    assert not stack.of_type("AWS::EC2::SecurityGroupEgress")


def test_the_mm4_port_follows_the_parameter_and_defaults_to_the_relays() -> None:
    # Given the relay's MM4 port (template.yaml)
    relay_default = template()["Parameters"]["Mm4Port"]["Default"]
    # Then the network's parameter defaults to the same port
    assert load(NETWORK)["Parameters"]["Mm4Port"]["Default"] == relay_default
    # And another port is the one let out
    stack = Deployed(Mm4Port="465")
    ports = {int(rule["FromPort"]) for rule in stack.properties(_egress_security_group(stack))["SecurityGroupEgress"]}
    assert ports == {443, 465}


def test_interface_endpoints_are_off_by_default_and_private_when_on() -> None:
    # Given the default parameters, there are gateway endpoints only, and no group but the functions'
    default = Deployed()
    assert {body["Properties"]["VpcEndpointType"] for body in default.of_type("AWS::EC2::VPCEndpoint").values()} == {
        "Gateway"
    }
    assert list(default.of_type("AWS::EC2::SecurityGroup")) == [_egress_security_group(default)]
    # When they are turned on
    stack = Deployed(InterfaceEndpoints="true")
    interface = {
        body["Properties"]["ServiceName"].value: body["Properties"]
        for body in stack.of_type("AWS::EC2::VPCEndpoint").values()
        if body["Properties"]["VpcEndpointType"] == "Interface"
    }
    # Then Secrets Manager and SQS answer on private addresses in both private subnets
    assert sorted(interface) == [
        "com.amazonaws.${AWS::Region}.secretsmanager",
        "com.amazonaws.${AWS::Region}.sqs",
    ]
    functions = _egress_security_group(stack)
    for endpoint in interface.values():
        assert endpoint["PrivateDnsEnabled"] is True
        assert sorted(_ref(subnet) for subnet in endpoint["SubnetIds"]) == sorted(_egress_subnets(stack))
        # And only the functions may reach them, over HTTPS
        (group,) = endpoint["SecurityGroupIds"]
        (rule,) = stack.properties(_ref(group))["SecurityGroupIngress"]
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
        assert rule["SourceSecurityGroupId"] == Tag("GetAtt", f"{functions}.GroupId")
        assert "CidrIp" not in rule


@pytest.mark.parametrize("traffic", ["REJECT", "ALL"])
def test_flow_logs_are_off_by_default_and_record_the_vpc_when_on(traffic: str) -> None:
    assert not Deployed().of_type("AWS::EC2::FlowLog")
    stack = Deployed(FlowLogs=traffic)
    (flow_log,) = stack.of_type("AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["TrafficType"] == traffic
    assert stack.resources[_ref(flow_log["Properties"]["ResourceId"])]["Type"] == "AWS::EC2::VPC"


def test_the_outputs_are_what_the_relay_stack_and_the_gateway_need() -> None:
    outputs = Deployed().outputs
    # EgressSubnetIds and EgressSecurityGroupIds are the relay template's parameter names: each
    # output is pasted into the parameter of the same name.
    assert {"VpcId", "EgressSubnetIds", "EgressSecurityGroupIds", "ElasticIps"} <= set(outputs)
    relay_egress_parameters = {name for name in template()["Parameters"] if name.startswith("Egress")}
    assert relay_egress_parameters <= set(outputs)


def test_the_network_environment_deploys_the_network_template_with_real_parameters() -> None:
    # Given samconfig.toml's network environment
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())["network"]
    # Then sam validate and sam deploy use the network template, as their own stack
    assert ROOT / config["global"]["parameters"]["template_file"] == NETWORK
    assert config["global"]["parameters"]["stack_name"] == "mms-relay-network"
    assert config["deploy"]["parameters"]["confirm_changeset"] is True
    # And any override names one of its parameters
    overrides = config["deploy"]["parameters"].get("parameter_overrides", "")
    for item in shlex.split(overrides):
        assert item.split("=", 1)[0] in load(NETWORK)["Parameters"], item


def test_every_ec2_resource_carries_a_name_tag() -> None:
    untagged = [
        name
        for name, body in load(NETWORK)["Resources"].items()
        if body["Type"].startswith("AWS::EC2::")
        and body["Type"]
        not in {"AWS::EC2::VPCGatewayAttachment", "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::Route"}
        and not any(tag["Key"] == "Name" for tag in body["Properties"].get("Tags", []))
    ]
    assert not untagged
