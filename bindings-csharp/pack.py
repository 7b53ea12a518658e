#!/usr/bin/env python3
"""Packs the Dajisaas NuGet package (a .nupkg is a zip in the Open Packaging Conventions layout:
the .nuspec at the root, [Content_Types].xml, _rels/.rels) without the dotnet SDK:

  lib/netstandard2.0/Dajisaas.dll, Dajisaas.xml   the assembly and its API documentation
  runtimes/<rid>/native/libdajisaas.so            the C library of each platform given
  README.md, LICENSE-MIT, LICENSE-APACHE

Usage: pack.py --version V --dll Dajisaas.dll --xml Dajisaas.xml --native RID=PATH [...]
               --readme README.md --license-dir DIR --out Dajisaas.V.nupkg
Entries are written in a fixed order with a fixed date, so that the same inputs give the same file.
"""
import argparse
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

DATE = (2020, 1, 1, 0, 0, 0)


def nuspec(version: str) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>Dajisaas</id>
    <version>{escape(version)}</version>
    <authors>dajisaas</authors>
    <description>Pay 1688.com purchase orders through the Dajisaas gateway: signing, payment links and password-free payments, with retries that never pay an order twice and a payment journal shared by processes. A SafeHandle client over the dajisaas C library.</description>
    <license type="expression">MIT OR Apache-2.0</license>
    <readme>README.md</readme>
    <tags>1688 alibaba payment dajisaas</tags>
    <dependencies>
      <group targetFramework=".NETStandard2.0" />
    </dependencies>
  </metadata>
</package>
"""


CONTENT_TYPES = """<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" />
  <Default Extension="nuspec" ContentType="application/octet" />
  <Default Extension="dll" ContentType="application/octet" />
  <Default Extension="xml" ContentType="application/octet" />
  <Default Extension="so" ContentType="application/octet" />
  <Default Extension="md" ContentType="application/octet" />
  <Default Extension="txt" ContentType="application/octet" />
  <Override PartName="/LICENSE-MIT" ContentType="application/octet" />
  <Override PartName="/LICENSE-APACHE" ContentType="application/octet" />
</Types>
"""

RELS = """<?xml version="1.0" encoding="utf-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
  <Relationship Type="http://schemas.microsoft.com/packaging/2010/07/manifest" Target="/Dajisaas.nuspec" Id="R0" />
</Relationships>
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--version", required=True)
    parser.add_argument("--dll", required=True, type=Path)
    parser.add_argument("--xml", required=True, type=Path)
    parser.add_argument("--native", action="append", required=True, metavar="RID=PATH")
    parser.add_argument("--readme", required=True, type=Path)
    parser.add_argument("--license-dir", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()

    entries = [
        ("[Content_Types].xml", CONTENT_TYPES.encode()),
        ("_rels/.rels", RELS.encode()),
        ("Dajisaas.nuspec", nuspec(args.version).encode()),
        ("lib/netstandard2.0/Dajisaas.dll", args.dll.read_bytes()),
        ("lib/netstandard2.0/Dajisaas.xml", args.xml.read_bytes()),
    ]
    for native in sorted(args.native):
        rid, _, path = native.partition("=")
        if not rid or not path:
            parser.error(f"--native {native}: RID=PATH")
        source = Path(path)
        # The file the SONAME names is what the loader opens; NuGet ships it as libdajisaas.so,
        # the name [DllImport("dajisaas")] probes.
        entries.append((f"runtimes/{rid}/native/libdajisaas.so", source.read_bytes()))
    entries.append(("README.md", args.readme.read_bytes()))
    for name in ("LICENSE-MIT", "LICENSE-APACHE"):
        entries.append((name, (args.license_dir / name).read_bytes()))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(args.out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    print(f"{args.out.name}: {len(entries)} entries")


if __name__ == "__main__":
    main()
