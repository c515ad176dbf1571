// libFuzzer target: any bytes as the Nodo's answer to one of pagohub's own calls (nodoInviaRPT,
// nodoChiediCopiaRT, nodoInviaRichiestaStorno, the reporting-flow list and one flow), read by
// nodo_client's decoders: the byte-level guard, gSOAP's strict parse of the Nodo-side bindings,
// the fault bean, and the base64 documents inside. The first byte picks the decoder ('0' to
// '4', any other byte modulo 5), the rest is the body. The answer crosses the network from a
// party we do not control; a crash, leak or undefined behaviour here is a defect, a refusal is
// not.
#include <pagohub/nodo_client/codec.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pagohub::nodo_client;
  if (size == 0) return 0;
  const unsigned which = static_cast<unsigned char>(data[0] - '0') % 5;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (which) {
    case 0:
      (void)decode_invia_rpt(body);
      break;
    case 1:
      (void)decode_chiedi_copia_rt(body);
      break;
    case 2:
      (void)decode_invia_richiesta_storno(body);
      break;
    case 3:
      (void)decode_elenco_flussi(body);
      break;
    default:
      (void)decode_flusso(body);
      break;
  }
  return 0;
}
