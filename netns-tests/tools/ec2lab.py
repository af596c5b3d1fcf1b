#!/usr/bin/env python3
"""The emulated VPC of the cloud scenarios, through moto's EC2 API (boto3).

    ec2lab.py ENDPOINT setup            VPC 192.0.2.0/24, subnet, ENIs of A
                                        (.20) and B (.21), the private VIP
                                        .30 on A's, an Elastic IP on it;
                                        prints shell assignments
    ec2lab.py ENDPOINT eip ALLOC        the ENI the Elastic IP is on (or -)
    ec2lab.py ENDPOINT lists ENI ADDR   exit 0 if ENI lists ADDR
    ec2lab.py ENDPOINT wait-eip ALLOC ENI TIMEOUT
                                        polls every 5 ms; prints the epoch
                                        time the Elastic IP was seen on ENI
    ec2lab.py ENDPOINT record-start     (re)starts moto's request recorder
    ec2lab.py ENDPOINT recorded         the recorded EC2 calls, one a line:
                                        KEYID ACTION PARAM=VALUE... (the
                                        caller is its access key id)

The poller and setup use the access key id AKIDLAB, so their calls can be
told from the nodes' (AKIDNODEA, AKIDNODEB).
"""
import base64
import json
import sys
import time
import urllib.parse
import urllib.request

import boto3

endpoint, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]


def ec2():
    return boto3.client(
        "ec2",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIDLAB",
        aws_secret_access_key="secret",
    )


def eip_on(c, alloc):
    a = c.describe_addresses(AllocationIds=[alloc])["Addresses"]
    return (a[0].get("NetworkInterfaceId") if a else None) or "-"


if cmd == "setup":
    c = ec2()
    vpc = c.create_vpc(CidrBlock="192.0.2.0/24")["Vpc"]["VpcId"]
    sub = c.create_subnet(VpcId=vpc, CidrBlock="192.0.2.0/24")["Subnet"]["SubnetId"]
    a = c.create_network_interface(SubnetId=sub, PrivateIpAddress="192.0.2.20")
    b = c.create_network_interface(SubnetId=sub, PrivateIpAddress="192.0.2.21")
    eni_a = a["NetworkInterface"]["NetworkInterfaceId"]
    eni_b = b["NetworkInterface"]["NetworkInterfaceId"]
    c.assign_private_ip_addresses(NetworkInterfaceId=eni_a, PrivateIpAddresses=["192.0.2.30"])
    alloc = c.allocate_address(Domain="vpc")["AllocationId"]
    c.associate_address(AllocationId=alloc, NetworkInterfaceId=eni_a, PrivateIpAddress="192.0.2.30")
    print(f"ENI_A={eni_a} ENI_B={eni_b} ALLOC={alloc} VPC={vpc}")
elif cmd == "eip":
    print(eip_on(ec2(), args[0]))
elif cmd == "lists":
    eni, addr = args
    i = ec2().describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
    sys.exit(0 if any(p["PrivateIpAddress"] == addr for p in i["PrivateIpAddresses"]) else 1)
elif cmd == "wait-eip":
    alloc, eni, timeout = args[0], args[1], float(args[2])
    c = ec2()
    end = time.time() + timeout
    while time.time() < end:
        if eip_on(c, alloc) == eni:
            print(f"{time.time():.6f}")
            sys.exit(0)
        time.sleep(0.005)
    sys.exit(1)
elif cmd == "record-start":
    for what in ("reset-recording", "start-recording"):
        urllib.request.urlopen(
            urllib.request.Request(f"{endpoint}/moto-api/recorder/{what}", method="POST"),
            timeout=5,
        ).read()
elif cmd == "recorded":
    text = urllib.request.urlopen(
        f"{endpoint}/moto-api/recorder/download-recording", timeout=5
    ).read().decode()
    for line in text.splitlines():
        if not line.strip():
            continue
        e = json.loads(line)
        auth = e.get("headers", {}).get("Authorization", "")
        who = auth.split("Credential=")[1].split("/")[0] if "Credential=" in auth else "?"
        if who == "AKIDLAB":
            continue
        body = e.get("body") or ""
        if e.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        params = dict(urllib.parse.parse_qsl(body))
        query = urllib.parse.urlparse(e.get("url", "")).query
        params.update(urllib.parse.parse_qsl(query))
        action = params.pop("Action", "?")
        params.pop("Version", None)
        print(who, action, " ".join(f"{k}={v}" for k, v in sorted(params.items())))
else:
    sys.exit(f"unknown command {cmd}")
