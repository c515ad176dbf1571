#!/usr/bin/env bash
# Re-creates the gSOAP interface definitions pa_services.h and nodo_services.h from the official
# contract in contract/ (wsdl2h, gSOAP 2.8.124 as packaged by Debian 12). The build does not run
# this: the results are kept in the repository and soapcpp2 compiles them at build time. Run it
# only after updating contract/ or typemap.dat, and review the diff.
set -euo pipefail
cd "$(dirname "$0")/contract"

# Everything the Nodo sends the station (PA-side: current model and 2018 model).
wsdl2h -t ../typemap.dat -c++11 -o ../pa_services.h \
  wsdl/paForNode.wsdl gad/wsdl/PaPerNodo.wsdl gad/wsdl/PaPerNodoPagamentoPsp.wsdl \
  gad/wsdl/PaPerNodoRichiestaAvvisi.wsdl
# Everything the station sends the Nodo (client side, for the Nodo client and nodo-sim).
wsdl2h -t ../typemap.dat -c++11 -o ../nodo_services.h gad/wsdl/NodoPerPa.wsdl wsdl/nodeForPa.wsdl

# The one edit: PaPerNodoRichiestaAvvisi.wsdl declares the SOAP header element intestazionePPT
# with three fields, PaPerNodo*.wsdl with five; wsdl2h keeps the first declaration, so the last
# two fields become optional and the adapters require them where the primitive needs them.
python3 - ../pa_services.h <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
for field in ("identificativoUnivocoVersamento", "codiceContestoPagamento"):
    old = "ppthead__stText35                    %s" % field
    i = s.index(old, s.index("class _ppthead__intestazionePPT\n"))
    j = s.index("1;\t///< Required element.", i)
    s = s[:j] + "0;\t///< Optional element (pagohub edit: see regenerate.sh)." + s[j + len("1;\t///< Required element."):]
open(p, "w").write(s)
PY
echo "regenerated pa_services.h and nodo_services.h"
