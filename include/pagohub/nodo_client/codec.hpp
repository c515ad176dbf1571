#pragma once
// Envelopes of the PA->Nodo primitives and the reading of their answers, in memory (gSOAP's
// Nodo-side bindings, wsdl/nodo_services.h). No I/O: the client and the tests use them.
#include <pagohub/core/error.hpp>
#include <pagohub/nodo_client/messages.hpp>

#include <string>
#include <string_view>

namespace pagohub::nodo_client {

/// SOAP 1.1 request envelopes. The wrapper element is namespace-qualified, its children are not
/// (DIGEST §0); nodoInviaRPT carries intestazionePPT in the SOAP header.
std::string encode(const station_credentials& who, const invia_rpt_request& rq);
std::string encode(const station_credentials& who, const chiedi_copia_rt_request& rq);
std::string encode(const station_credentials& who, const invia_richiesta_storno_request& rq);
std::string encode(const station_credentials& who, const elenco_flussi_request& rq);
std::string encode(const station_credentials& who, const flusso_request& rq);

/// Reads an answer body. errc::invalid_input when it is not the expected response element
/// (with gSOAP's reason), errc::unavailable with the faultstring for a SOAP Fault envelope.
/// A faultBean with esito KO is a successful read: the fault is in the value.
core::result<invia_rpt_response> decode_invia_rpt(std::string_view body);
core::result<chiedi_copia_rt_response> decode_chiedi_copia_rt(std::string_view body);
core::result<esito_response> decode_invia_richiesta_storno(std::string_view body);
core::result<elenco_flussi_response> decode_elenco_flussi(std::string_view body);
core::result<flusso_response> decode_flusso(std::string_view body);

}  // namespace pagohub::nodo_client
